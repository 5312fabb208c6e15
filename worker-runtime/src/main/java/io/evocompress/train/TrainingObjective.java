package io.evocompress.train;

import ai.djl.ndarray.NDArray;

/**
 * What a training step minimises, given the student's logits on a batch of token ids. Implementations
 * return a scalar float32 loss in the logits' manager, built from differentiable ops only.
 */
public interface TrainingObjective {
    /**
     * @param logits the trained model's float32 logits (B, T, V)
     * @param ids    the token ids (B, T) the logits were computed on
     * @return the scalar loss
     */
    NDArray loss(NDArray logits, NDArray ids);

    /** A short name for progress lines ("lm", "kd"). */
    String name();
}
