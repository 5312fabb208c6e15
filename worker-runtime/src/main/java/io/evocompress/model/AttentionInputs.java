package io.evocompress.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-sequence-length tables every block's attention uses: rotary cos/sin (rotate-half convention,
 * as Hugging Face: the angle table repeated twice along head_dim) and the additive causal mask
 * (sliding-window when the config has one). Built once per length and cached by the model.
 */
final class AttentionInputs implements AutoCloseable {
    final NDArray cos;  // (T, d), compute dtype
    final NDArray sin;  // (T, d), compute dtype
    final NDArray mask; // (T, T) float32: 0 where attended, -inf elsewhere
    private final NDManager manager;

    private AttentionInputs(NDManager manager, NDArray cos, NDArray sin, NDArray mask) {
        this.manager = manager;
        this.cos = cos;
        this.sin = sin;
        this.mask = mask;
    }

    static AttentionInputs build(NDManager parent, ModelConfig config, int seqLen, DataType dtype) {
        int d = config.headDim();
        int half = d / 2;
        // inverse frequencies theta^(-2i/d), scaled for Llama 3 / linear rope scaling
        double[] invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / d);
        }
        if (config.ropeScaling() != null) {
            invFreq = config.ropeScaling().apply(invFreq);
        }
        float[] cos = new float[seqLen * d];
        float[] sin = new float[seqLen * d];
        for (int t = 0; t < seqLen; t++) {
            for (int i = 0; i < half; i++) {
                // HF computes the angle in float32: pos * inv_freq with inv_freq rounded to float32
                float angle = (float) t * (float) invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * d + i] = c;
                cos[t * d + i + half] = c;
                sin[t * d + i] = s;
                sin[t * d + i + half] = s;
            }
        }
        float[] mask = new float[seqLen * seqLen];
        int window = config.slidingWindow();
        for (int i = 0; i < seqLen; i++) {
            for (int j = 0; j < seqLen; j++) {
                boolean visible = j <= i && (window == 0 || i - j < window);
                mask[i * seqLen + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        NDManager m = parent.newSubManager();
        Shape table = new Shape(seqLen, d);
        return new AttentionInputs(m,
            m.create(cos, table).toType(dtype, false),
            m.create(sin, table).toType(dtype, false),
            m.create(mask, new Shape(seqLen, seqLen)));
    }

    @Override
    public void close() {
        manager.close();
    }
}
