package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Linear weights a checkpoint stores packed, as its config.json {@code quantization_config} declares
 * them: compressed-tensors {@code pack-quantized} ({@link PackQuantized}) or this project's older
 * {@code evocompress-int4} ({@link PackedInt4}). The loader dequantizes them to float32.
 */
public interface PackedWeights {
    /** Whether weight tensor {@code weightName} is stored packed (and so has no {@code .weight} tensor). */
    boolean covers(String weightName);

    /** The dequantized weight [rows, cols], row-major. */
    float[] dequantize(String weightName, int rows, int cols);

    /** The packed layers of a checkpoint, or null when its config.json declares no quantization. */
    static PackedWeights of(CheckpointReader checkpoint) {
        JsonNode q = PackQuantized.quantizationConfig(checkpoint);
        if (q.isMissingNode() || q.isNull()) {
            return null;
        }
        return PackQuantized.declares(q) ? PackQuantized.of(checkpoint, q) : PackedInt4.of(checkpoint);
    }
}
