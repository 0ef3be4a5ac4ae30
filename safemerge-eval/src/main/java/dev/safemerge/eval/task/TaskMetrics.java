package dev.safemerge.eval.task;

import dev.safemerge.tensor.BadInputException;
import java.util.List;
import java.util.function.Supplier;

/** The task metrics by name. */
public final class TaskMetrics {
    private static final List<Supplier<TaskMetric>> ALL = List.of(
            ExactMatch::new,
            NumericAnswer::new,
            MultipleChoice::new,
            Bbh::new,
            HumanEval::new,
            ToolCall::new,
            Similarity::new);

    private TaskMetrics() {}

    public static List<String> names() {
        return ALL.stream().map(s -> s.get().name()).toList();
    }

    public static TaskMetric byName(String name) {
        for (Supplier<TaskMetric> supplier : ALL) {
            TaskMetric metric = supplier.get();
            if (metric.name().equals(name)) {
                return metric;
            }
        }
        throw new BadInputException("--metric " + name + ": unknown metric; one of " + names());
    }
}
