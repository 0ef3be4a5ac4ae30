package dev.safemerge.model.generate;

/**
 * One sequence of a batch: its prompt, the adapter it runs with, and the index of its sampler stream (sequence i of
 * a call samples like sequence i of any other call with the same seed, whatever else shares the batch).
 *
 * @param adapter the adapter and its scale, or null for the model as loaded (with its load-time adapter, if any)
 */
public record SequenceSpec(int[] prompt, ScaledAdapter adapter, int samplerIndex) {
    public SequenceSpec {
        if (samplerIndex < 0) {
            throw new IllegalArgumentException("samplerIndex must be >= 0, got " + samplerIndex);
        }
    }

    /** Prompt {@code index} of a call, on the model as loaded. */
    public static SequenceSpec plain(int[] prompt, int index) {
        return new SequenceSpec(prompt, null, index);
    }

    /** Prompts on the model as loaded, sampler i for prompt i. */
    public static java.util.List<SequenceSpec> plain(java.util.List<int[]> prompts) {
        java.util.List<SequenceSpec> specs = new java.util.ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            specs.add(plain(prompts.get(i), i));
        }
        return specs;
    }
}
