package io.evocompress.metrics;

import java.io.Serializable;

/**
 * Sums over scored positions, so partial results (one per task) add up exactly: next-token negative
 * log-likelihood and, when a reference model was given, KL(P_reference || Q_model).
 */
public record SequenceScores(double nllSum, long nllTokens, double klSum, long klTokens) implements Serializable {

    public static final SequenceScores EMPTY = new SequenceScores(0, 0, 0, 0);

    public SequenceScores plus(SequenceScores o) {
        return new SequenceScores(nllSum + o.nllSum, nllTokens + o.nllTokens, klSum + o.klSum, klTokens + o.klTokens);
    }

    public double nllPerToken() {
        return nllTokens == 0 ? Double.NaN : nllSum / nllTokens;
    }

    public double perplexity() {
        return Math.exp(nllPerToken());
    }

    /** Mean KL per position; NaN when no reference was scored. */
    public double klDivergence() {
        return klTokens == 0 ? Double.NaN : klSum / klTokens;
    }
}
