package dev.safemerge.safeguard;

import java.util.LinkedHashMap;
import java.util.Map;

/** Hand-written result rows: ASR as unsafe of 100 judged answers, task scores given directly. */
final class Table {
    private Table() {}

    /** A row with ASR = unsafe / judged (judged = 0 makes it undefined) and one task set. */
    static VariantResult row(String name, String method, Double lambda, int unsafe, int judged, Double task) {
        return row(name, method, lambda, unsafe, judged, task, null);
    }

    static VariantResult row(
            String name, String method, Double lambda, int unsafe, int judged, Double task, Double validation) {
        Map<String, VariantResult.SafetyCounts> safety = new LinkedHashMap<>();
        safety.put("harmful", new VariantResult.SafetyCounts(100, unsafe, 100 - judged));
        Map<String, VariantResult.TaskScore> tasks = new LinkedHashMap<>();
        tasks.put("task", new VariantResult.TaskScore(task, 50, validation, validation == null ? 0 : 50, null));
        return new VariantResult(name, method, lambda, safety, null, tasks, 0);
    }
}
