package io.evocompress.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-sequence-length tables every block's attention uses: rotary cos/sin (rotate-half convention,
 * as Hugging Face: the angle table repeated twice along head_dim; rotary families only), ALiBi's
 * per-head bias (ALiBi families only) and the additive causal mask (sliding-window when the config
 * has one). Built once per length and cached by the model.
 */
final class AttentionInputs implements AutoCloseable {
    final NDArray cos;   // (T, d), compute dtype; null without rotary positions
    final NDArray sin;   // (T, d), compute dtype; null without rotary positions
    final NDArray mask;  // (T, T) float32: 0 where attended, -inf elsewhere
    final NDArray alibi; // (heads, 1, T) float32: slope_h * key position; null without ALiBi
    private final NDManager manager;

    private AttentionInputs(NDManager manager, NDArray cos, NDArray sin, NDArray mask, NDArray alibi) {
        this.manager = manager;
        this.cos = cos;
        this.sin = sin;
        this.mask = mask;
        this.alibi = alibi;
    }

    static AttentionInputs build(NDManager parent, ModelConfig config, int seqLen, DataType dtype) {
        NDManager m = parent.newSubManager();
        NDArray[] rope = config.forward().positions() == ForwardSpec.Positions.ROPE
            ? rope(m, config, seqLen, dtype) : new NDArray[2];
        NDArray alibi = null;
        if (config.forward().positions() == ForwardSpec.Positions.ALIBI) {
            double[] slopes = Alibi.slopes(config.numHeads());
            float[] bias = new float[slopes.length * seqLen];
            for (int h = 0; h < slopes.length; h++) {
                for (int j = 0; j < seqLen; j++) {
                    bias[h * seqLen + j] = (float) (slopes[h] * j);
                }
            }
            alibi = m.create(bias, new Shape(slopes.length, 1, seqLen));
        }
        return new AttentionInputs(m, rope[0], rope[1], mask(m, config, seqLen), alibi);
    }

    /** cos and sin (T, d); longrope's attention factor multiplies both. */
    private static NDArray[] rope(NDManager m, ModelConfig config, int seqLen, DataType dtype) {
        int d = config.headDim();
        int half = d / 2;
        // inverse frequencies theta^(-2i/d), scaled for Llama 3 / linear rope scaling
        double[] invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / d);
        }
        double scale = 1.0;
        if (config.ropeScaling() != null) {
            invFreq = config.ropeScaling().apply(invFreq, seqLen);
            scale = config.ropeScaling().attentionFactor();
        }
        float[] cos = new float[seqLen * d];
        float[] sin = new float[seqLen * d];
        for (int t = 0; t < seqLen; t++) {
            for (int i = 0; i < half; i++) {
                // HF computes the angle in float32: pos * inv_freq with inv_freq rounded to float32
                float angle = (float) t * (float) invFreq[i];
                float c = (float) (Math.cos(angle) * scale);
                float s = (float) (Math.sin(angle) * scale);
                cos[t * d + i] = c;
                cos[t * d + i + half] = c;
                sin[t * d + i] = s;
                sin[t * d + i + half] = s;
            }
        }
        Shape table = new Shape(seqLen, d);
        return new NDArray[] {m.create(cos, table).toType(dtype, false), m.create(sin, table).toType(dtype, false)};
    }

    private static NDArray mask(NDManager m, ModelConfig config, int seqLen) {
        float[] mask = new float[seqLen * seqLen];
        int window = config.slidingWindow();
        for (int i = 0; i < seqLen; i++) {
            for (int j = 0; j < seqLen; j++) {
                boolean visible = j <= i && (window == 0 || i - j < window);
                mask[i * seqLen + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        return m.create(mask, new Shape(seqLen, seqLen));
    }

    @Override
    public void close() {
        manager.close();
    }
}
