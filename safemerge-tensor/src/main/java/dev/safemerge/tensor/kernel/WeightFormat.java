package dev.safemerge.tensor.kernel;

/** How the elements of a {@link Matrix} are stored. */
public enum WeightFormat {
    /** IEEE float32, little-endian. */
    F32(4),
    /** bfloat16 (the top half of a float32), little-endian. */
    BF16(2),
    /** IEEE half precision, little-endian. */
    F16(2),
    /** int8 values times one float32 scale per block of {@link Matrix#Q8_BLOCK} elements of a row. */
    Q8(1);

    private final int elementBytes;

    WeightFormat(int elementBytes) {
        this.elementBytes = elementBytes;
    }

    public int elementBytes() {
        return elementBytes;
    }
}
