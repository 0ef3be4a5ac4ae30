package dev.safemerge.merge;

import dev.safemerge.merge.config.MergeConfig;
import dev.safemerge.merge.config.ModelRef;
import dev.safemerge.merge.config.Setting;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Turns a validated config and the opened input models into one {@link TensorTask} per output tensor, checking
 * everything that can be checked from headers alone (missing tensors, shapes, dtypes, input counts, required
 * parameters) so that a merge never fails halfway on bad input.
 *
 * <p>mergekit's planning rules: {@code models:} is one slice over all layers with the base model appended as the
 * last source when not listed; in each slice layer {@code i} of {@code n} gets {@code t = i/(n-1)} ({@code t = 1}
 * for one layer); embeddings take the first slice's sources, the final norm and lm_head the last slice's, both
 * with {@code t = 0}; per-model parameters are looked up model → slice → top level → default and filtered on the
 * input tensor name, global ones slice → top level → default on the output name.
 */
public final class MergePlanner {
    private final MergeConfig config;
    private final MergeMethod method;
    private final Function<ModelRef, TensorSource> models;
    private final Consumer<String> warnings;

    private MergePlanner(MergeConfig config, Function<ModelRef, TensorSource> models, Consumer<String> warnings) {
        this.config = config;
        this.method = config.method();
        this.models = models;
        this.warnings = warnings;
    }

    /** A normalised slice: its sources (base included), the slice's base model and parameters. */
    private record PlanSlice(
            int index, List<MergeConfig.Source> sources, ModelRef base, Map<String, Setting> parameters, int layers) {}

    /** The plan: the tasks in output-name order and the output layer count. */
    public record Plan(List<TensorTask> tasks, int outputLayers, List<String> layerReport) {}

    public static Plan plan(MergeConfig config, Function<ModelRef, TensorSource> models, Consumer<String> warnings) {
        return new MergePlanner(config, models, warnings).plan();
    }

    private BadInputException error(String message) {
        return new BadInputException(config.file() + ": " + message);
    }

    private Plan plan() {
        List<PlanSlice> slices = normalise();
        Map<String, TensorTask> tasks = new TreeMap<>();
        List<String> layerReport = new ArrayList<>();
        ModelRef reference = slices.getFirst().base() != null
                ? slices.getFirst().base()
                : slices.getFirst().sources().getFirst().model();
        int outputLayer = 0;
        for (PlanSlice slice : slices) {
            for (int k = 0; k < slice.layers(); k++) {
                double t = slice.layers() == 1 ? 1.0 : (double) k / (slice.layers() - 1);
                MergeConfig.Source first = slice.sources().getFirst();
                TensorSource template = models.apply(first.model());
                int templateLayer = first.layerStart() + k;
                int layer = outputLayer + k;
                layerReport.add(String.format(
                        java.util.Locale.ROOT,
                        "layer %d: slice %d, layer %d of %s",
                        layer,
                        slice.index(),
                        templateLayer,
                        first.model()));
                boolean any = false;
                for (String name : template.tensorNames()) {
                    TensorNames.LayerName parsed = TensorNames.parseLayer(name);
                    if (parsed == null || parsed.index() != templateLayer) {
                        continue;
                    }
                    any = true;
                    String outName = parsed.withIndex(layer);
                    Map<MergeConfig.Source, String> inputNames = new LinkedHashMap<>();
                    for (MergeConfig.Source source : slice.sources()) {
                        inputNames.put(source, parsed.withIndex(source.layerStart() + k));
                    }
                    tasks.put(outName, task(outName, slice, inputNames, t));
                }
                if (!any) {
                    throw error("model " + first.model() + " has no tensors for layer " + templateLayer + " (slice "
                            + slice.index() + " asks for layers " + first.layerStart() + ".." + (first.layerEnd() - 1)
                            + ")");
                }
            }
            outputLayer += slice.layers();
        }
        TensorSource referenceSource = models.apply(reference);
        List<String> outsideLayers = new ArrayList<>();
        for (String name : referenceSource.tensorNames()) {
            if (TensorNames.parseLayer(name) == null) {
                outsideLayers.add(name);
            }
        }
        boolean lmHeadAnywhere = false;
        for (PlanSlice slice : List.of(slices.getFirst(), slices.getLast())) {
            for (MergeConfig.Source source : slice.sources()) {
                lmHeadAnywhere |= models.apply(source.model()).contains(TensorNames.LM_HEAD);
            }
        }
        if (lmHeadAnywhere && !outsideLayers.contains(TensorNames.LM_HEAD)) {
            outsideLayers.add(TensorNames.LM_HEAD);
        }
        for (String name : outsideLayers) {
            PlanSlice slice = TensorNames.isInputEmbedding(name) ? slices.getFirst() : slices.getLast();
            Map<MergeConfig.Source, String> inputNames = new LinkedHashMap<>();
            for (MergeConfig.Source source : slice.sources()) {
                TensorSource model = models.apply(source.model());
                String sourceName = name;
                if (name.equals(TensorNames.LM_HEAD) && !model.contains(name)) {
                    // lm_head is tied to the input embedding: models without their own contribute that matrix.
                    sourceName = tiedEmbeddingName(model, source.model());
                }
                inputNames.put(source, sourceName);
            }
            tasks.put(name, task(name, slice, inputNames, 0.0));
        }
        return new Plan(List.copyOf(tasks.values()), outputLayer, layerReport);
    }

    private String tiedEmbeddingName(TensorSource model, ModelRef ref) {
        for (String candidate : model.tensorNames()) {
            if (TensorNames.isInputEmbedding(candidate)) {
                return candidate;
            }
        }
        throw error("model " + ref + " has neither lm_head.weight nor an input embedding to tie it to");
    }

    private List<PlanSlice> normalise() {
        List<PlanSlice> slices = new ArrayList<>();
        if (config.slices().isEmpty()) {
            List<MergeConfig.Source> sources = new ArrayList<>();
            ModelRef first = config.baseModel() != null
                    ? config.baseModel()
                    : config.models().getFirst().model();
            int layers = layerCount(first);
            boolean baseListed = false;
            for (MergeConfig.Source model : config.models()) {
                if (sources.stream().anyMatch(s -> s.model().equals(model.model()))) {
                    throw error("models: " + model.model() + " is listed twice");
                }
                sources.add(new MergeConfig.Source(model.model(), 0, layers, model.parameters()));
                baseListed |= model.model().equals(config.baseModel());
            }
            if (config.baseModel() != null && !baseListed) {
                sources.add(new MergeConfig.Source(config.baseModel(), 0, layers, Map.of()));
            }
            slices.add(new PlanSlice(0, sources, config.baseModel(), Map.of(), layers));
        } else {
            for (int i = 0; i < config.slices().size(); i++) {
                MergeConfig.Slice slice = config.slices().get(i);
                ModelRef configured = slice.baseModel() != null ? slice.baseModel() : config.baseModel();
                List<MergeConfig.Source> sources = new ArrayList<>(slice.sources());
                boolean baseListed = sources.stream().anyMatch(s -> s.model().equals(configured));
                ModelRef base = configured;
                if (base != null && !baseListed) {
                    if (method.baseModel() == MergeMethod.BaseModelRule.PLAIN_INPUT) {
                        // A base model that is not a source of a slice plays no part in it (passthrough frankenmerges).
                        base = null;
                    } else {
                        throw error("slices[" + i + "]: base_model " + base + " is not one of the slice's sources");
                    }
                }
                slices.add(new PlanSlice(
                        i, sources, base, slice.parameters(), sources.getFirst().layerCount()));
            }
        }
        return slices;
    }

    private int layerCount(ModelRef ref) {
        int max = -1;
        for (String name : models.apply(ref).tensorNames()) {
            TensorNames.LayerName parsed = TensorNames.parseLayer(name);
            if (parsed != null) {
                max = Math.max(max, parsed.index());
            }
        }
        return max + 1;
    }

    private TensorTask task(String outName, PlanSlice slice, Map<MergeConfig.Source, String> inputNames, double t) {
        List<TensorTask.Input> inputs = new ArrayList<>();
        List<TensorInfo> infos = new ArrayList<>();
        int baseIndex = -1;
        for (Map.Entry<MergeConfig.Source, String> entry : inputNames.entrySet()) {
            MergeConfig.Source source = entry.getKey();
            TensorSource model = models.apply(source.model());
            String name = entry.getValue();
            if (!model.contains(name)) {
                throw error("tensor '" + name + "' is missing from model " + source.model() + " (needed for output '"
                        + outName + "')");
            }
            TensorInfo info = model.info(name);
            if (!info.dtype().readableAsFloat()) {
                throw error("tensor '" + name + "' of model " + source.model() + " has dtype " + info.dtype()
                        + ", which cannot be merged");
            }
            boolean isBase = source.model().equals(slice.base());
            if (isBase) {
                baseIndex = inputs.size();
            }
            inputs.add(new TensorTask.Input(
                    source.model().toString(), model, name, info.shape(), modelParams(source, slice, name, t, isBase)));
            infos.add(info);
        }
        boolean embedding = TensorNames.isEmbedding(outName);
        DType stored = infos.get(Math.max(baseIndex, 0)).dtype();
        long[] shape = reconcileShapes(outName, embedding, inputs, infos, baseIndex);
        if (shape == null) {
            // Every non-base model was skipped for a size mismatch (task-arithmetic rule): only the base is left.
            shape = infos.get(baseIndex).shape();
            baseIndex = 0;
        } else if (inputs.size() < infos.size()) {
            baseIndex = indexOfBase(inputs, slice);
        }
        int others = inputs.size() - (baseIndex >= 0 ? 1 : 0);
        String problem = method.checkInputs(others, baseIndex >= 0);
        if (problem != null && !(inputs.size() == 1 && baseIndex == 0)) {
            throw error("tensor '" + outName + "': " + problem + " (got " + inputs.size() + " input"
                    + (inputs.size() == 1 ? "" : "s") + ")");
        }
        Params global = globalParams(slice, outName, t);
        String paramProblem =
                method.checkParams(inputs.stream().map(TensorTask.Input::params).toList(), baseIndex, global);
        if (paramProblem != null) {
            throw error("tensor '" + outName + "' (models "
                    + String.join(
                            ", ", inputs.stream().map(TensorTask.Input::model).toList()) + "): "
                    + method.name() + ": " + paramProblem);
        }
        Precision precision = Precision.of(config.dtype() != null ? config.dtype() : stored);
        DType out = config.outDtype() != null
                ? config.outDtype()
                : method.promotesToFloat32() ? DType.F32 : precision.dtype();
        return new TensorTask(outName, shape, embedding, inputs, baseIndex, global, precision, out);
    }

    private static int indexOfBase(List<TensorTask.Input> inputs, PlanSlice slice) {
        for (int i = 0; i < inputs.size(); i++) {
            if (slice.base() != null
                    && inputs.get(i).model().equals(slice.base().toString())) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Applies the method's embedding rule and returns the output shape; drops inputs that the task-arithmetic rule
     * skips (mutating {@code inputs}), or returns null when only the base remains.
     */
    private long[] reconcileShapes(
            String outName, boolean embedding, List<TensorTask.Input> inputs, List<TensorInfo> infos, int baseIndex) {
        long[] first = infos.getFirst().shape();
        boolean allEqual = infos.stream().allMatch(info -> Arrays.equals(info.shape(), first));
        if (allEqual) {
            return first;
        }
        boolean matrices = infos.stream().allMatch(info -> info.rank() == 2);
        String shapes = describeShapes(inputs);
        switch (method.embedSizes()) {
            case COMMON_SUBMATRIX -> {
                if (embedding && matrices) {
                    long rows = Long.MAX_VALUE;
                    long cols = Long.MAX_VALUE;
                    for (TensorInfo info : infos) {
                        rows = Math.min(rows, info.dim(0));
                        cols = Math.min(cols, info.dim(1));
                    }
                    warnings.accept(outName + ": inputs differ in size (" + shapes + "); using the common top-left "
                            + rows + "x" + cols + " block (mergekit's rule: the output vocabulary is the smallest)");
                    return new long[] {rows, cols};
                }
            }
            case CUT_TO_BASE -> {
                long[] base = infos.get(baseIndex).shape();
                List<Integer> skipped = new ArrayList<>();
                for (int i = 0; i < infos.size(); i++) {
                    long[] shape = infos.get(i).shape();
                    if (i == baseIndex || Arrays.equals(shape, base)) {
                        continue;
                    }
                    if (embedding && matrices) {
                        if (shape[0] < base[0] || shape[1] < base[1]) {
                            throw error("tensor '" + outName + "': model "
                                    + inputs.get(i).model() + " is smaller "
                                    + Arrays.toString(shape) + " than the base " + Arrays.toString(base)
                                    + " (mergekit cuts larger embeddings to the base and fails on smaller ones)");
                        }
                        warnings.accept(outName + ": using the top-left " + base[0] + "x" + base[1] + " block of "
                                + inputs.get(i).model() + " " + Arrays.toString(shape));
                    } else {
                        warnings.accept(outName + ": skipping " + inputs.get(i).model() + " for a size mismatch ("
                                + Arrays.toString(shape) + " vs base " + Arrays.toString(base) + ")");
                        skipped.add(i);
                    }
                }
                for (int i = skipped.size() - 1; i >= 0; i--) {
                    inputs.remove((int) skipped.get(i));
                }
                if (inputs.size() == 1) {
                    return null;
                }
                return base;
            }
            case EXACT -> {}
        }
        throw error("tensor '" + outName + "': shape mismatch between inputs (" + shapes + ")"
                + (embedding ? "; " + method.name() + " cannot merge embeddings of different vocabulary sizes" : ""));
    }

    private static String describeShapes(List<TensorTask.Input> inputs) {
        List<String> parts = new ArrayList<>();
        for (TensorTask.Input input : inputs) {
            parts.add(input.model() + " " + Arrays.toString(input.storedShape()));
        }
        return String.join(", ", parts);
    }

    private Params globalParams(PlanSlice slice, String outName, double t) {
        Map<String, Double> values = new HashMap<>();
        for (ParameterSpec spec : method.parameters()) {
            if (spec.scope() != ParameterSpec.Scope.GLOBAL) {
                continue;
            }
            Double value = lookup(spec.name(), outName, t, slice.parameters(), config.parameters());
            if (value == null) {
                value = spec.defaultValue();
            }
            if (value == null && spec.required()) {
                throw error("parameter '" + spec.name() + "' has no value for tensor '" + outName
                        + "' (no filter matches it and " + method.name() + " has no default)");
            }
            if (value != null) {
                values.put(spec.name(), value);
            }
        }
        return new Params(values);
    }

    private Params modelParams(MergeConfig.Source source, PlanSlice slice, String inputName, double t, boolean isBase) {
        Map<String, Double> values = new HashMap<>();
        for (ParameterSpec spec : method.parameters()) {
            if (spec.scope() != ParameterSpec.Scope.PER_MODEL) {
                continue;
            }
            Double value =
                    lookup(spec.name(), inputName, t, source.parameters(), slice.parameters(), config.parameters());
            if (value == null) {
                value = spec.defaultValue();
            }
            boolean baseExempt = isBase && method.baseModel() != MergeMethod.BaseModelRule.PLAIN_INPUT;
            if (value == null && spec.required() && !baseExempt) {
                throw error("parameter '" + spec.name() + "' has no value for model " + source.model() + " at tensor '"
                        + inputName + "'"
                        + (isBase ? " (" + method.name() + " uses the base model as an input too)" : ""));
            }
            if (value != null) {
                values.put(spec.name(), value);
            }
        }
        return new Params(values);
    }

    @SafeVarargs
    private static Double lookup(String name, String tensorName, double t, Map<String, Setting>... levels) {
        for (Map<String, Setting> level : levels) {
            Setting setting = level.get(name);
            if (setting != null) {
                Double value = setting.evaluate(tensorName, t);
                if (value != null) {
                    return value;
                }
            }
        }
        return null;
    }
}
