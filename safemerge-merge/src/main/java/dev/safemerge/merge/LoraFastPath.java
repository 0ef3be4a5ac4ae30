package dev.safemerge.merge;

import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.ModelRef;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSource;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Linear and task-arithmetic merges of a base model W with the same base plus a LoRA adapter are {@code k·W +
 * c·scale·B·A} per tensor: linear gives {@code c = w_ft / (w_base + w_ft)} with normalisation ({@code k = 1}) or
 * {@code c = w_ft, k = w_base + w_ft} without; task arithmetic gives {@code c = λ·w} ({@code c = λ} when normalised)
 * and {@code k = 1}. This computes that directly from the factors, never materialising the fine-tuned model, and in
 * float32 with one rounding to the output dtype (the op-by-op path rounds the working dtype after each step, so the
 * two agree to that rounding). With {@code k = 1} the merge is itself a LoRA adapter with B scaled by c, which
 * {@link #writeAdapter} emits instead of full weights.
 */
final class LoraFastPath {
    /** The base directory, the adapter applied to the same base, and the config names of both. */
    record Match(ModelRef base, ModelRef tuned, LoraAdapter adapter, TensorSource baseSource) {}

    private LoraFastPath() {}

    /** The base/adapter pair when the config is a fast-path merge, else null. */
    static Match find(MergeConfig config, Map<ModelRef, LoraAdapter> adapters, Map<ModelRef, TensorSource> sources) {
        String method = config.method().name();
        if (!(method.equals("linear") || method.equals("task_arithmetic"))
                || !config.slices().isEmpty()) {
            return null;
        }
        List<ModelRef> models = config.referencedModels();
        if (models.size() != 2) {
            return null;
        }
        ModelRef plain = null;
        ModelRef tuned = null;
        for (ModelRef model : models) {
            if (model.hasAdapter()) {
                tuned = model;
            } else {
                plain = model;
            }
        }
        if (plain == null || tuned == null || !tuned.path().equals(plain.path())) {
            return null;
        }
        if (method.equals("task_arithmetic") && !plain.equals(config.baseModel())) {
            return null;
        }
        LoraAdapter adapter = adapters.get(tuned);
        if (!adapter.replacedBaseTensors().isEmpty()) {
            return null;
        }
        return new Match(plain, tuned, adapter, sources.get(plain));
    }

    /** Rewrites every task as {@code k·W + c·Δ}: inputs [base, Δ] (Δ only for adapted tensors), globals k and c. */
    static List<TensorTask> tasks(List<TensorTask> tasks, Match match, MergeConfig config) {
        TensorSource deltas = new DeltaSource(match.adapter(), match.baseSource());
        List<TensorTask> rewritten = new ArrayList<>();
        for (TensorTask task : tasks) {
            TensorTask.Input base = null;
            TensorTask.Input tuned = null;
            for (TensorTask.Input input : task.inputs()) {
                if (input.model().equals(match.base().toString())) {
                    base = input;
                } else {
                    tuned = input;
                }
            }
            if (base == null || tuned == null || !base.sourceName().equals(tuned.sourceName())) {
                throw new IllegalStateException("fast path needs the base and the adapted base for " + task.name());
            }
            double k;
            double c;
            boolean normalize = task.global().flag("normalize");
            if (config.method().name().equals("linear")) {
                double wBase = base.params().get("weight");
                double wTuned = tuned.params().get("weight");
                k = normalize ? 1 : wBase + wTuned;
                c = normalize ? wTuned / (wBase + wTuned) : wTuned;
            } else {
                double weight = tuned.params().get("weight");
                double lambda = task.global().get("lambda");
                k = 1;
                c = lambda * (normalize && weight != 0 ? 1 : weight);
            }
            List<TensorTask.Input> inputs = new ArrayList<>();
            inputs.add(new TensorTask.Input(
                    base.model(), base.source(), base.sourceName(), base.storedShape(), Params.NONE));
            if (match.adapter().targetedBaseTensors().contains(base.sourceName())) {
                inputs.add(new TensorTask.Input(
                        match.tuned() + " (LoRA delta)", deltas, base.sourceName(), base.storedShape(), Params.NONE));
            }
            rewritten.add(new TensorTask(
                    task.name(),
                    task.shape(),
                    task.embedding(),
                    inputs,
                    0,
                    Params.of("k", k, "c", c),
                    Precision.F32,
                    task.outDtype()));
        }
        return rewritten;
    }

    /** Writes the merge as an adapter: the same A, B scaled by c, the same config (rank, alpha, targets). */
    static void writeAdapter(Path out, Match match, List<TensorTask> fastTasks, boolean overwrite) {
        Map<String, LoraWeights> scaled = new TreeMap<>();
        for (TensorTask task : fastTasks) {
            if (task.global().get("k") != 1) {
                throw new BadInputException("--emit-adapter: tensor '" + task.name() + "' scales the base by "
                        + task.global().get("k") + ", which an adapter cannot express (use normalize or weights"
                        + " summing to 1)");
            }
            if (task.inputs().size() < 2) {
                continue;
            }
            LoraWeights w = match.adapter().weights(task.inputs().get(1).sourceName());
            float c = (float) task.global().get("c");
            float[] b = w.b().clone();
            for (int i = 0; i < b.length; i++) {
                b[i] *= c;
            }
            scaled.put(task.name(), new LoraWeights(w.a(), b, w.rank(), w.in(), w.out(), w.scale(), w.fanInFanOut()));
        }
        LoraAdapterWriter.write(out, match.adapter().config(), scaled, Map.of(), overwrite);
    }

    /** {@code k·W + c·Δ} elementwise in float32; the only method of fast-path tasks. */
    static final class Combination extends DeclaredMethod {
        Combination() {
            super("lora_fast_path", List.of(), BaseModelRule.REQUIRED, EmbedSizeRule.EXACT);
        }

        @Override
        public String checkInputs(int others, boolean hasBase) {
            return null;
        }

        @Override
        public boolean elementwise() {
            return true;
        }

        @Override
        public float[] merge(TensorGroup group) {
            float k = (float) group.global().get("k");
            float c = (float) group.global().get("c");
            float[] w = group.inputs().get(0).values();
            float[] out = new float[w.length];
            if (group.inputs().size() == 1) {
                for (int j = 0; j < out.length; j++) {
                    out[j] = k * w[j];
                }
                return out;
            }
            float[] delta = group.inputs().get(1).values();
            for (int j = 0; j < out.length; j++) {
                out[j] = k * w[j] + c * delta[j];
            }
            return out;
        }
    }

    /** scale·B·A of the adapted tensors, computed row by row on read; shapes are the base's. */
    private static final class DeltaSource implements TensorSource {
        private final LoraAdapter adapter;
        private final TensorSource base;
        private final Map<String, LoraWeights> weights = new ConcurrentHashMap<>();

        DeltaSource(LoraAdapter adapter, TensorSource base) {
            this.adapter = adapter;
            this.base = base;
        }

        @Override
        public Set<String> tensorNames() {
            return adapter.targetedBaseTensors();
        }

        @Override
        public boolean contains(String name) {
            return adapter.targetedBaseTensors().contains(name);
        }

        @Override
        public TensorInfo info(String name) {
            return base.info(name);
        }

        @Override
        public void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count) {
            weights.computeIfAbsent(name, adapter::weights).readDelta(firstElement, dst, dstOffset, count);
        }

        @Override
        public MemorySegment bytes(String name) {
            throw new UnsupportedOperationException("LoRA deltas are computed, not stored");
        }

        @Override
        public String describe() {
            return adapter.path() + " (LoRA delta)";
        }

        @Override
        public void close() {}
    }
}
