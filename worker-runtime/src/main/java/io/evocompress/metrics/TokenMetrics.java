package io.evocompress.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Next-token metrics on logits (B, T, V), in float32: the summed negative log-likelihood of each
 * sequence's next tokens, and the KL divergence between two models' next-token distributions. The
 * last position of each sequence predicts nothing and is dropped from both.
 */
public final class TokenMetrics {
    private TokenMetrics() {
    }

    /** Sum over b and t < T-1 of -log softmax(logits[b, t])[ids[b, t+1]]. */
    public static double nllSum(NDArray logits, NDArray ids) {
        try (NDManager scope = logits.getManager().newSubManager()) {
            logits.tempAttach(scope);
            ids.tempAttach(scope);
            long t = logits.getShape().get(1);
            NDArray logp = logits.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false).logSoftmax(-1);
            NDArray targets = ids.get(":, 1:").toType(DataType.INT64, false).expandDims(-1); // (B, T-1, 1)
            NDArray picked = logp.gather(targets, 2);                                        // (B, T-1, 1)
            return -picked.toType(DataType.FLOAT64, false).sum().getDouble();
        }
    }

    /**
     * Sum over b and t < T-1 of KL(P || Q) = sum_v p_v (log p_v - log q_v), with log-softmax in float32
     * and the per-position sums accumulated in float64.
     */
    public static double klSum(NDArray logitsP, NDArray logitsQ) {
        try (NDManager scope = logitsP.getManager().newSubManager()) {
            logitsP.tempAttach(scope);
            logitsQ.tempAttach(scope);
            long t = logitsP.getShape().get(1);
            String keep = ":, :" + (t - 1) + ", :";
            NDArray logp = logitsP.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
            NDArray logq = logitsQ.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
            return klTerms(logp, logq);
        }
    }

    /**
     * As {@link #klSum}, with P given by its log-probabilities (B, T-1, V) in float32 (computed once,
     * e.g. the dense model's outputs kept for a search) and Q by logits (B, T, V).
     */
    public static double klSumFromLogProbs(NDArray logProbsP, NDArray logitsQ) {
        try (NDManager scope = logitsQ.getManager().newSubManager()) {
            logProbsP.tempAttach(scope);
            logitsQ.tempAttach(scope);
            long t = logitsQ.getShape().get(1);
            NDArray logq = logitsQ.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false).logSoftmax(-1);
            return klTerms(logProbsP.toType(DataType.FLOAT32, false), logq);
        }
    }

    /**
     * Top-K sparse KL summed over positions: per position, P's K most likely tokens (indices (B, T-1, K)
     * and log-probabilities renormalised over them, (B, T-1, K)) against Q's logits (B, T, V)
     * renormalised over the same K tokens: sum_k p~_k (log p~_k - log q~_k). With K = V it is the full KL.
     */
    public static double topKKlSum(NDArray topIndices, NDArray topLogProbsP, NDArray logitsQ) {
        try (NDManager scope = logitsQ.getManager().newSubManager()) {
            topIndices.tempAttach(scope);
            topLogProbsP.tempAttach(scope);
            logitsQ.tempAttach(scope);
            long t = logitsQ.getShape().get(1);
            NDArray q = logitsQ.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false);
            NDArray logq = q.gather(topIndices.toType(DataType.INT64, false), 2).logSoftmax(-1); // (B, T-1, K)
            return klTerms(topLogProbsP.toType(DataType.FLOAT32, false), logq);
        }
    }

    /** sum over positions of sum_v exp(logp) (logp - logq), per-position sums added in float64. */
    private static double klTerms(NDArray logp, NDArray logq) {
        NDArray perPosition = logp.exp().mul(logp.sub(logq)).sum(new int[] {-1}); // (B, T-1)
        return perPosition.toType(DataType.FLOAT64, false).sum().getDouble();
    }
}
