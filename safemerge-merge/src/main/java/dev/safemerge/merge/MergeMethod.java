package dev.safemerge.merge;

import java.util.List;

/**
 * A merge method: its name, the parameters it reads (declared as data), what it needs of the base model and how it
 * treats embeddings of different vocabulary sizes, and the merge of one tensor.
 */
public interface MergeMethod {
    String name();

    List<ParameterSpec> parameters();

    BaseModelRule baseModel();

    /** How embedding-like inputs ({@code embed_tokens}, {@code lm_head}) of different sizes are reconciled. */
    EmbedSizeRule embedSizes();

    /**
     * Checks the number of inputs for one tensor: {@code others} counts non-base inputs. Returns null when fine,
     * otherwise the reason (one line).
     */
    String checkInputs(int others, boolean hasBase);

    /**
     * Checks the parameters resolved for one tensor ({@code inputs} in input order, base included at {@code
     * baseIndex}, -1 without one) before any tensor is read. Returns null when fine, otherwise the reason (one line).
     */
    default String checkParams(List<Params> inputs, int baseIndex, Params global) {
        return null;
    }

    /**
     * Checks the per-model parameters of one non-base model that constrain each other (DELLA's density ± epsilon).
     * Called at config check with values that are constants there, and for every tensor at plan time. Returns null
     * when fine, otherwise the reason (one line).
     */
    default String checkModelParams(Params model) {
        return null;
    }

    /** True when each output element depends only on the same element of the inputs, so tensors can be chunked. */
    default boolean elementwise() {
        return false;
    }

    /** True when the result is float32 whatever the working dtype (mergekit's float32 masks promote it). */
    default boolean promotesToFloat32() {
        return false;
    }

    /** Merges one tensor; the result has the inputs' element count and is rounded to the working precision. */
    float[] merge(TensorGroup group);

    enum BaseModelRule {
        /** The method fails without a base model. */
        REQUIRED,
        /** A base model changes the method (task-vector space) but is not needed. */
        OPTIONAL,
        /** The base model is an input like any other (or not read at all). */
        PLAIN_INPUT
    }

    enum EmbedSizeRule {
        /** Every input is cut to the largest top-left submatrix common to all (output vocabulary = smallest). */
        COMMON_SUBMATRIX,
        /** Larger model embeddings are cut to the base's size; a smaller one fails; other mismatches skip the model. */
        CUT_TO_BASE,
        /** All shapes must be equal. */
        EXACT
    }
}
