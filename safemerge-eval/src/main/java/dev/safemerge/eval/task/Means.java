package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Averages of a numeric field over scored items, overall (micro) and per group (and their macro mean). */
final class Means {
    private Means() {}

    /** The mean, or {@code null} (undefined, never 0) over no scores. */
    static Double mean(List<ObjectNode> scores, String field) {
        if (scores.isEmpty()) {
            return null;
        }
        double sum = 0;
        for (ObjectNode score : scores) {
            sum += score.get(field).asDouble();
        }
        return sum / scores.size();
    }

    /** Adds {field}, and when there are several groups per_group {group: {n, field}} and {field}_macro. */
    static void addMeans(ObjectNode summary, List<TaskItem> items, List<ObjectNode> scores, String field) {
        summary.put(field, mean(scores, field));
        Map<String, List<ObjectNode>> groups = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i++) {
            groups.computeIfAbsent(items.get(i).group(), g -> new java.util.ArrayList<>())
                    .add(scores.get(i));
        }
        if (groups.size() > 1) {
            ObjectNode perGroup = summary.withObject("per_group");
            double macro = 0;
            for (var entry : groups.entrySet()) {
                double m = mean(entry.getValue(), field); // a group holds at least one item
                ObjectNode g = perGroup.withObject(entry.getKey());
                g.put("n", entry.getValue().size());
                g.put(field, m);
                macro += m;
            }
            summary.put(field + "_macro", macro / groups.size());
        }
    }

    static ObjectNode base(List<TaskItem> items) {
        ObjectNode summary = Json.object();
        summary.put("n", items.size());
        return summary;
    }
}
