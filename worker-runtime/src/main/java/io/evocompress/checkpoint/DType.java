package io.evocompress.checkpoint;

import io.evocompress.EvocompressException;

import java.util.Arrays;
import java.util.Locale;

/** Element types of safetensors files, with their size in bytes. */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** I64, I32, I16, I8 or U8. */
    public boolean isInteger() {
        return this == I64 || this == I32 || this == I16 || this == I8 || this == U8;
    }

    /** Parses a safetensors dtype string ("F32", "BF16", ...). */
    public static DType parse(String name, String where) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new EvocompressException(where + ": unsupported dtype '" + name + "'; supported: " + Arrays.toString(values()));
        }
    }

    /** Parses a user-facing dtype name: f32/float32, f16/float16, bf16/bfloat16. */
    public static DType parseFloating(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "f32": case "fp32": case "float32": return F32;
            case "f16": case "fp16": case "float16": return F16;
            case "bf16": case "bfloat16": return BF16;
            default:
                throw new EvocompressException("Unsupported dtype '" + name + "': use float32, float16 or bfloat16.");
        }
    }
}
