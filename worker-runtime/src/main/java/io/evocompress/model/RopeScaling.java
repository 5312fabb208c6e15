package io.evocompress.model;

import io.evocompress.EvocompressException;

/**
 * Rotary-embedding frequency scaling from config.json's {@code rope_scaling}: {@code llama3}
 * (Llama 3.1+: long wavelengths divided by factor, short kept, smooth in between), {@code linear}
 * (positions divided by factor) or {@code longrope} (Phi-3: per-frequency divisors, the short ones up
 * to {@code original_max_position_embeddings} tokens, the long ones beyond, and cos/sin scaled by
 * {@link #attentionFactor}). Null in {@link ModelConfig} means none.
 *
 * @param shortFactor     longrope: divisors of the inverse frequencies for sequences up to the original context (else null)
 * @param longFactor      longrope: divisors beyond it (else null)
 * @param attentionFactor longrope: the factor cos and sin are multiplied by (1 for the other types)
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings, double[] shortFactor, double[] longFactor,
                          double attentionFactor) {

    public RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                       int originalMaxPositionEmbeddings) {
        this(type, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings, null, null, 1.0);
    }

    /**
     * Phi-3's longrope as Hugging Face computes it: {@code factor} is max_position_embeddings over the
     * original context, and the attention factor, unless given, sqrt(1 + ln(factor) / ln(original)) when
     * factor exceeds 1, else 1.
     */
    public static RopeScaling longrope(double[] shortFactor, double[] longFactor, int maxPositionEmbeddings,
                                       int originalMaxPositionEmbeddings, Double attentionFactor) {
        if (originalMaxPositionEmbeddings <= 0) {
            throw new EvocompressException("rope_scaling longrope needs original_max_position_embeddings > 0, but was "
                + originalMaxPositionEmbeddings);
        }
        double factor = (double) maxPositionEmbeddings / originalMaxPositionEmbeddings;
        double attention = attentionFactor != null ? attentionFactor
            : factor > 1 ? Math.sqrt(1 + Math.log(factor) / Math.log(originalMaxPositionEmbeddings)) : 1.0;
        return new RopeScaling("longrope", factor, 1.0, 4.0, originalMaxPositionEmbeddings, shortFactor, longFactor,
            attention);
    }

    public RopeScaling {
        if (!type.equals("llama3") && !type.equals("linear") && !type.equals("longrope")) {
            throw new EvocompressException("rope_scaling type '" + type + "' is not supported; supported: llama3, linear, longrope.");
        }
        if (type.equals("longrope") && (shortFactor == null || longFactor == null || shortFactor.length != longFactor.length)) {
            throw new EvocompressException("rope_scaling longrope needs short_factor and long_factor of equal length (head_dim / 2).");
        }
        if (!(attentionFactor > 0)) {
            throw new EvocompressException("rope_scaling.attention_factor must be positive, but was " + attentionFactor);
        }
        if (!(factor > 0)) {
            throw new EvocompressException("rope_scaling.factor must be positive, but was " + factor);
        }
        if (type.equals("llama3") && !(highFreqFactor > lowFreqFactor && originalMaxPositionEmbeddings > 0)) {
            throw new EvocompressException("rope_scaling llama3 needs high_freq_factor > low_freq_factor and "
                + "original_max_position_embeddings > 0, but was " + this);
        }
    }

    /**
     * The scaled inverse frequencies for a sequence of {@code seqLen} tokens (only longrope depends on
     * the length: its long factors apply beyond the original context).
     */
    public double[] apply(double[] invFreq, int seqLen) {
        if (!type.equals("longrope")) {
            return apply(invFreq);
        }
        double[] ext = seqLen > originalMaxPositionEmbeddings ? longFactor : shortFactor;
        if (ext.length != invFreq.length) {
            throw new EvocompressException("rope_scaling longrope has " + ext.length + " factors, but the head has "
                + invFreq.length + " rotary frequencies (head_dim / 2).");
        }
        double[] out = invFreq.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = invFreq[i] / ext[i];
        }
        return out;
    }

    /** Applies the scaling to the unscaled inverse frequencies theta^(-2i/d) (longrope: its short factors). */
    public double[] apply(double[] invFreq) {
        if (type.equals("longrope")) {
            return apply(invFreq, 0);
        }
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
