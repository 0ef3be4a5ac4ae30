package dev.safemerge.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A PEFT LoRA adapter directory: {@code adapter_config.json} and {@code adapter_model.safetensors}. Tensor names
 * follow PEFT's saved layout, {@code base_model.model.<module>.lora_A.weight} [r, in] and {@code .lora_B.weight}
 * [out, r] (an adapter name such as {@code .lora_A.default.weight} is accepted too), plus full replacement weights
 * for {@code modules_to_save} under {@code base_model.model.<module>.<param>}.
 */
public final class LoraAdapter implements AutoCloseable {
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    static final String PREFIX = "base_model.model.";

    private final Path path;
    private final LoraConfig config;
    private final SafetensorsFile file;
    /** base tensor name → [lora_A tensor, lora_B tensor] */
    private final Map<String, String[]> factors;
    /** base tensor name → adapter tensor that replaces it */
    private final Map<String, String> savedTensors;

    private LoraAdapter(
            Path path,
            LoraConfig config,
            SafetensorsFile file,
            Map<String, String[]> factors,
            Map<String, String> savedTensors) {
        this.path = path;
        this.config = config;
        this.file = file;
        this.factors = factors;
        this.savedTensors = savedTensors;
    }

    /** True when {@code dir} looks like a PEFT adapter directory. */
    public static boolean isAdapterDirectory(Path dir) {
        return Files.isRegularFile(dir.resolve(LoraConfig.FILE_NAME));
    }

    /** Opens and validates an adapter; every problem is a one-line {@link BadInputException}. */
    public static LoraAdapter open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": no such directory");
        }
        LoraConfig config = LoraConfig.read(dir.resolve(LoraConfig.FILE_NAME));
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(weights)) {
            if (Files.exists(dir.resolve("adapter_model.bin"))) {
                throw new BadInputException(dir + ": has only adapter_model.bin, a pickle file that can run arbitrary"
                        + " code when loaded, so safemerge never opens it. Convert once in a trusted Python"
                        + " environment: PeftModel.from_pretrained(base, dir).save_pretrained(out,"
                        + " safe_serialization=True)");
            }
            throw new BadInputException(dir + ": no " + WEIGHTS_FILE);
        }
        SafetensorsFile file = SafetensorsFile.open(weights);
        try {
            Map<String, String[]> factors = new TreeMap<>();
            Map<String, String> saved = new TreeMap<>();
            classify(file, config, factors, saved);
            LoraAdapter adapter = new LoraAdapter(dir, config, file, factors, saved);
            for (String base : factors.keySet()) {
                adapter.checkFactors(base);
            }
            return adapter;
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static void classify(
            SafetensorsFile file, LoraConfig config, Map<String, String[]> factors, Map<String, String> saved) {
        String where = file.path().toString();
        for (String name : file.tensorNames()) {
            if (!name.startsWith(PREFIX)) {
                throw new BadInputException(
                        where + ": tensor '" + name + "' does not start with '" + PREFIX + "' (not a PEFT adapter?)");
            }
            String rest = name.substring(PREFIX.length());
            if (rest.contains(".lora_embedding_") || rest.contains(".lora_magnitude_vector")) {
                throw new BadInputException(where + ": tensor '" + name
                        + "' belongs to embedding LoRA or DoRA, which safemerge does not support");
            }
            int factor = lastFactorIndex(rest);
            if (factor >= 0) {
                String module = rest.substring(0, factor);
                String tail = rest.substring(factor + 1); // "lora_A.weight" or "lora_A.<adapter>.weight"
                String[] parts = tail.split("\\.");
                if (!parts[parts.length - 1].equals("weight") || parts.length > 3) {
                    throw new BadInputException(where + ": tensor '" + name + "' is not a LoRA weight I understand");
                }
                if (!config.targets(module)) {
                    throw new BadInputException(where + ": tensor '" + name + "' adapts module '" + module
                            + "', which target_modules in " + LoraConfig.FILE_NAME + " does not select");
                }
                String base = module + ".weight";
                String[] pair = factors.computeIfAbsent(base, k -> new String[2]);
                int slot = parts[0].equals("lora_A") ? 0 : 1;
                if (pair[slot] != null) {
                    throw new BadInputException(where + ": two " + parts[0] + " tensors for module '" + module + "' ('"
                            + pair[slot] + "' and '" + name + "')");
                }
                pair[slot] = name;
                continue;
            }
            String base = rest.replace(".modules_to_save.default.", ".");
            int dot = base.lastIndexOf('.');
            String module = dot < 0 ? base : base.substring(0, dot);
            if (!config.saves(module)) {
                throw new BadInputException(where + ": tensor '" + name + "' is neither a LoRA factor nor part of"
                        + " modules_to_save " + config.modulesToSave());
            }
            if (saved.put(base, name) != null) {
                throw new BadInputException(where + ": two tensors replace '" + base + "'");
            }
        }
        for (Map.Entry<String, String[]> entry : factors.entrySet()) {
            String[] pair = entry.getValue();
            if (pair[0] == null || pair[1] == null) {
                throw new BadInputException(where + ": tensor '" + (pair[0] == null ? pair[1] : pair[0])
                        + "' has no matching " + (pair[0] == null ? "lora_A" : "lora_B"));
            }
        }
    }

    /** Position of the '.' before "lora_A"/"lora_B" as a path component, or -1. */
    private static int lastFactorIndex(String rest) {
        int a = rest.lastIndexOf(".lora_A.");
        int b = rest.lastIndexOf(".lora_B.");
        return Math.max(a, b);
    }

    private void checkFactors(String base) {
        String[] pair = factors.get(base);
        TensorInfo a = file.info(pair[0]);
        TensorInfo b = file.info(pair[1]);
        String where = file.path().toString();
        if (!a.dtype().readableAsFloat() || !b.dtype().readableAsFloat()) {
            throw new BadInputException(where + ": LoRA factors of '" + base + "' must be float tensors");
        }
        if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1)) {
            throw new BadInputException(where + ": LoRA factors of '" + base + "' have shapes " + a.shapeString()
                    + " (lora_A) and " + b.shapeString() + " (lora_B); expected [r, in] and [out, r]");
        }
        String module = moduleOf(base);
        if (a.dim(0) != config.rank(module)) {
            throw new BadInputException(where + ": LoRA rank of '" + base + "' is " + a.dim(0) + " but "
                    + LoraConfig.FILE_NAME + " gives " + config.rank(module) + " (r / rank_pattern)");
        }
        if (a.dim(1) > Integer.MAX_VALUE || b.dim(0) > Integer.MAX_VALUE) {
            throw new BadInputException(where + ": LoRA factors of '" + base + "' are too large");
        }
    }

    private static String moduleOf(String baseTensor) {
        return baseTensor.endsWith(".weight")
                ? baseTensor.substring(0, baseTensor.length() - ".weight".length())
                : baseTensor;
    }

    public Path path() {
        return path;
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapter's safetensors file. */
    public SafetensorsFile file() {
        return file;
    }

    /** Base tensors that get a LoRA delta, such as {@code model.layers.0.self_attn.q_proj.weight}; sorted. */
    public SortedSet<String> targetedBaseTensors() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(factors.keySet()));
    }

    /** Base tensors replaced by full weights from {@code modules_to_save}; sorted. */
    public SortedSet<String> replacedBaseTensors() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(savedTensors.keySet()));
    }

    /** The factors and scale of one targeted base tensor, read as float32. */
    public LoraWeights weights(String baseTensorName) {
        String[] pair = factors.get(baseTensorName);
        if (pair == null) {
            throw new BadInputException(path + ": adapter has no LoRA factors for '" + baseTensorName + "'");
        }
        TensorInfo a = file.info(pair[0]);
        TensorInfo b = file.info(pair[1]);
        return new LoraWeights(
                file.readFloats(pair[0]),
                file.readFloats(pair[1]),
                (int) a.dim(0),
                (int) a.dim(1),
                (int) b.dim(0),
                (float) config.scaling(moduleOf(baseTensorName)),
                config.fanInFanOut());
    }

    /** scale·B·A for one targeted base tensor, laid out like the base weight. */
    public float[] delta(String baseTensorName) {
        return weights(baseTensorName).delta();
    }

    /**
     * The base model with this adapter merged in, computed on read: targeted weights read as W + scale·B·A in
     * float32 (rounded to the base dtype only by whoever writes them), {@code modules_to_save} tensors replace the
     * base ones. Checks now that every adapted tensor exists in the base with a matching shape. Closing the view
     * closes neither the base nor the adapter.
     */
    public TensorSource applied(TensorSource base) {
        Map<String, LoraWeights> weights = new ConcurrentHashMap<>();
        for (String name : factors.keySet()) {
            if (!base.contains(name)) {
                throw new BadInputException(path + ": adapter modifies '" + name + "', which the base model "
                        + base.describe() + " does not have");
            }
            TensorInfo info = base.info(name);
            LoraWeights w = weights(name);
            if (!Arrays.equals(info.shape(), w.baseShape()) || !info.dtype().readableAsFloat()) {
                throw new BadInputException(path + ": adapter for '" + name + "' implies shape "
                        + Arrays.toString(w.baseShape()) + " but the base model has " + info.dtype() + " "
                        + info.shapeString());
            }
            weights.put(name, w);
        }
        for (Map.Entry<String, String> entry : savedTensors.entrySet()) {
            String name = entry.getKey();
            if (!base.contains(name)) {
                throw new BadInputException(path + ": modules_to_save tensor '" + entry.getValue() + "' replaces '"
                        + name + "', which the base model " + base.describe() + " does not have");
            }
            TensorInfo own = file.info(entry.getValue());
            TensorInfo info = base.info(name);
            boolean convertible = own.dtype().readableAsFloat() && info.dtype().readableAsFloat();
            if (!Arrays.equals(own.shape(), info.shape()) || (!convertible && own.dtype() != info.dtype())) {
                throw new BadInputException(path + ": modules_to_save tensor '" + entry.getValue() + "' is "
                        + own.dtype() + " " + own.shapeString() + " but the base '" + name + "' is " + info.dtype()
                        + " " + info.shapeString());
            }
        }
        return new AppliedView(base, weights);
    }

    private final class AppliedView implements TensorSource {
        private final TensorSource base;
        private final Map<String, LoraWeights> weights;

        AppliedView(TensorSource base, Map<String, LoraWeights> weights) {
            this.base = base;
            this.weights = weights;
        }

        @Override
        public Set<String> tensorNames() {
            return base.tensorNames();
        }

        @Override
        public boolean contains(String name) {
            return base.contains(name);
        }

        @Override
        public TensorInfo info(String name) {
            return base.info(name);
        }

        @Override
        public void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count) {
            String saved = savedTensors.get(name);
            if (saved != null) {
                file.readFloats(saved, firstElement, dst, dstOffset, count);
                return;
            }
            base.readFloats(name, firstElement, dst, dstOffset, count);
            LoraWeights w = weights.get(name);
            if (w != null) {
                w.addDelta(firstElement, dst, dstOffset, count);
            }
        }

        @Override
        public MemorySegment bytes(String name) {
            TensorInfo info = base.info(name);
            String saved = savedTensors.get(name);
            if (saved != null && file.info(saved).dtype() == info.dtype()) {
                return file.bytes(saved);
            }
            if (saved == null && !weights.containsKey(name)) {
                return base.bytes(name);
            }
            float[] values = readFloats(name);
            MemorySegment out = Arena.ofAuto().allocate(info.byteSize());
            FloatConversion.encode(info.dtype(), values, 0, out, values.length);
            return out;
        }

        @Override
        public String describe() {
            return base.describe() + " + " + path;
        }

        @Override
        public void close() {}
    }

    @Override
    public void close() {
        file.close();
    }
}
