package dev.safemerge.model;

import dev.safemerge.model.generate.AdapterWeights;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.kernel.Matrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A PEFT LoRA adapter loaded against one model's shapes, kept apart from the base weights: float32 factors A [r, in]
 * and B [out, r] and the PEFT scaling per adapted projection. Many adapters share one loaded base ({@link Model#step}
 * adds each to the rows of the sequences that use it). Close it to release the factors once no sequence uses it.
 */
public final class Adapter implements AdapterWeights, AutoCloseable {
    /** One adapted projection: {@code scale·(x·Aᵀ)·Bᵀ}. */
    record LowRank(Matrix a, Matrix b, float scale) {}

    private final Path path;
    private final LowRank[][] lowRank;
    private final Arena arena;

    private Adapter(Path path, LowRank[][] lowRank, Arena arena) {
        this.path = path;
        this.lowRank = lowRank;
        this.arena = arena;
    }

    /**
     * Reads an adapter for a model of {@code spec}, checking it as untrusted input: every targeted tensor must be a
     * linear layer of the model with the same shape; modules_to_save and fan_in_fan_out are refused.
     */
    @SuppressWarnings("MustBeClosedChecker") // the arena lives as long as the adapter, which closes it
    static Adapter load(Path dir, ModelSpec spec) {
        Arena arena = Arena.ofShared();
        try (LoraAdapter adapter = LoraAdapter.open(dir)) {
            checkSupported(adapter);
            Projection[] projections = Projection.values();
            LowRank[][] lowRank = new LowRank[spec.layers()][projections.length];
            java.util.Set<String> applied = new java.util.HashSet<>();
            for (int l = 0; l < spec.layers(); l++) {
                for (Projection p : projections) {
                    String name = p.prefix(l) + ".weight";
                    if (!adapter.targetedBaseTensors().contains(name)) {
                        continue;
                    }
                    int out = p.out(spec);
                    int in = p.in(spec);
                    LoraWeights delta = weights(adapter, name, out, in);
                    lowRank[l][p.ordinal()] = new LowRank(
                            Matrix.ofFloats(delta.rank(), in, delta.a(), arena),
                            Matrix.ofFloats(out, delta.rank(), delta.b(), arena),
                            delta.scale());
                    applied.add(name);
                }
            }
            checkFullyApplied(adapter, applied);
            return new Adapter(adapter.path(), lowRank, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Refuses what the engine cannot apply at inference: modules_to_save weights and fan_in_fan_out factors. */
    static void checkSupported(LoraAdapter adapter) {
        if (!adapter.replacedBaseTensors().isEmpty()) {
            throw new BadInputException(adapter.path() + ": modules_to_save (full replacement weights for "
                    + adapter.replacedBaseTensors().first() + ") are not supported at inference; merge the adapter"
                    + " into a model directory first");
        }
        if (adapter.config().fanInFanOut()) {
            throw new BadInputException(
                    adapter.path() + ": fan_in_fan_out=true does not fit the Linear layers of these architectures");
        }
    }

    /** The factors for base tensor {@code name}, whose weight is [out, in]; a shape mismatch is refused. */
    static LoraWeights weights(LoraAdapter adapter, String name, int out, int in) {
        LoraWeights delta = adapter.weights(name);
        if (delta.out() != out || delta.in() != in) {
            throw new BadInputException(adapter.path() + ": LoRA for '" + name + "' has shape [" + delta.out() + ", "
                    + delta.in() + "] but the weight is [" + out + ", " + in + "]");
        }
        return delta;
    }

    /** Refuses an adapter with factors for tensors that are not linear layers of the model. */
    static void checkFullyApplied(LoraAdapter adapter, java.util.Set<String> applied) {
        for (String name : adapter.targetedBaseTensors()) {
            if (!applied.contains(name)) {
                throw new BadInputException(
                        adapter.path() + ": adapter targets '" + name + "', which is not a linear layer of this model");
            }
        }
    }

    /** The factors of projection {@code p} in layer {@code layer}, or null when the adapter leaves it alone. */
    LowRank lowRank(int layer, Projection p) {
        return lowRank[layer][p.ordinal()];
    }

    public Path path() {
        return path;
    }

    @Override
    public long byteSize() {
        long bytes = 0;
        for (LowRank[] layer : lowRank) {
            for (LowRank lr : layer) {
                if (lr != null) {
                    bytes += lr.a().byteSize() + lr.b().byteSize();
                }
            }
        }
        return bytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
