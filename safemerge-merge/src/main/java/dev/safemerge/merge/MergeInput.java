package dev.safemerge.merge;

/**
 * One model's tensor (already converted to the working precision) with the per-model parameters resolved for it.
 *
 * @param values row-major elements; for chunked elementwise merges only the current chunk
 */
@SuppressWarnings("ArrayRecordComponent") // tensors are large: shared, never copied
public record MergeInput(String model, float[] values, Params params) {}
