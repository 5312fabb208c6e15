package io.evocompress.model;

import io.evocompress.EvocompressException;

/**
 * Rotary-embedding frequency scaling from config.json's {@code rope_scaling}: {@code llama3}
 * (Llama 3.1+: long wavelengths divided by factor, short kept, smooth in between) or {@code linear}
 * (positions divided by factor). Null in {@link ModelConfig} means none.
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {

    public RopeScaling {
        if (!type.equals("llama3") && !type.equals("linear")) {
            throw new EvocompressException("rope_scaling type '" + type + "' is not supported; supported: llama3, linear.");
        }
        if (!(factor > 0)) {
            throw new EvocompressException("rope_scaling.factor must be positive, but was " + factor);
        }
        if (type.equals("llama3") && !(highFreqFactor > lowFreqFactor && originalMaxPositionEmbeddings > 0)) {
            throw new EvocompressException("rope_scaling llama3 needs high_freq_factor > low_freq_factor and "
                + "original_max_position_embeddings > 0, but was " + this);
        }
    }

    /** Applies the scaling to the unscaled inverse frequencies theta^(-2i/d). */
    public double[] apply(double[] invFreq) {
        double[] out = invFreq.clone();
        if (type.equals("linear")) {
            for (int i = 0; i < out.length; i++) {
                out[i] /= factor;
            }
            return out;
        }
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        for (int i = 0; i < out.length; i++) {
            double wavelen = 2 * Math.PI / invFreq[i];
            if (wavelen > lowFreqWavelen) {
                out[i] = invFreq[i] / factor;
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (1 - smooth) * invFreq[i] / factor + smooth * invFreq[i];
            }
        }
        return out;
    }
}
