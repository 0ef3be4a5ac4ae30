package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.generate.Sampling;
import java.nio.file.Path;
import java.util.List;

/** A task metric: how its data files are read, how prompts are built, how responses are scored and averaged. */
public interface TaskMetric {
    String name();

    List<TaskItem> load(Path path, TaskOptions options);

    /** The metric's own decoding needs (stop strings, a longer budget) applied over the protocol's settings. */
    default Sampling sampling(Sampling protocol, boolean maxNewTokensGiven) {
        return protocol;
    }

    /** Scores one item from its responses (one per sample); the result holds at least a numeric "score". */
    ObjectNode score(TaskItem item, List<String> responses);

    /** Averages over items; {@code scores} are the objects {@link #score} returned, in item order. */
    ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores);
}
