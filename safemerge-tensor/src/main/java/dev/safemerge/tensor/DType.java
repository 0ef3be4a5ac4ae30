package dev.safemerge.tensor;

import java.util.Locale;

/**
 * Element types of safetensors files. The declaration order is the reference writer's dtype order (safetensors
 * {@code Dtype}, "increasing alignment order"), which decides the layout of tensors in a file it writes (last
 * first). The sub-byte types F4, F6_E2M3 and F6_E3M2 are not supported and read as unknown dtypes.
 */
public enum DType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    F8_E5M2(1, false),
    F8_E4M3(1, false),
    F8_E8M0(1, false),
    F8_E4M3FNUZ(1, false),
    F8_E5M2FNUZ(1, false),
    I16(2, false),
    U16(2, false),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    U32(4, false),
    F32(4, true),
    C64(8, false),
    F64(8, true),
    I64(8, false),
    U64(8, false);

    private final int byteSize;
    private final boolean readableAsFloat;

    DType(int byteSize, boolean readableAsFloat) {
        this.byteSize = byteSize;
        this.readableAsFloat = readableAsFloat;
    }

    public int byteSize() {
        return byteSize;
    }

    /** F64, F32, F16 and BF16 are read and written as float; every other dtype is passed through as bytes. */
    public boolean readableAsFloat() {
        return readableAsFloat;
    }

    /** The name used in safetensors headers, which is also the enum constant's name. */
    public String safetensorsName() {
        return name();
    }

    /** Parses a safetensors dtype name; returns null for an unknown one so callers can name the file and tensor. */
    public static DType fromSafetensorsName(String name) {
        for (DType type : values()) {
            if (type.name().equals(name)) {
                return type;
            }
        }
        return null;
    }

    /** Parses a torch-style dtype name as found in config.json and mergekit YAML ("bfloat16", "float32", ...). */
    public static DType fromTorchName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "float32", "float", "fp32", "f32" -> F32;
            case "float16", "half", "fp16", "f16" -> F16;
            case "bfloat16", "bf16" -> BF16;
            case "float64", "double", "fp64", "f64" -> F64;
            default ->
                throw new BadInputException(
                        "unknown floating-point dtype '" + name + "' (expected float32, float16, bfloat16 or float64)");
        };
    }

    public String torchName() {
        return switch (this) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F64 -> "float64";
            default -> name().toLowerCase(Locale.ROOT);
        };
    }
}
