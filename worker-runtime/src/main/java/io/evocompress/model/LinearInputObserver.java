package io.evocompress.model;

import ai.djl.ndarray.NDArray;

/**
 * Sees the input of every linear layer of a decoder block during its forward, for calibration
 * (Hessians, Wanda's input norms). Layers that share an input are reported once, under the first
 * layer of the group:
 * <ul>
 *   <li>{@link LinearName#Q_PROJ}: the normed hidden states that q_proj, k_proj and v_proj all read;</li>
 *   <li>{@link LinearName#O_PROJ}: the concatenated attention heads;</li>
 *   <li>{@link LinearName#GATE_PROJ}: the normed hidden states that gate_proj and up_proj both read
 *       ({@link LinearName#UP_PROJ} in families without a gate: OPT's fc1, BLOOM's dense_h_to_4h);</li>
 *   <li>{@link LinearName#DOWN_PROJ}: the activation, silu(gate) * up (relu(up), gelu(up)).</li>
 * </ul>
 * The input is (B, T, in) in the model's compute dtype and belongs to the forward's temporary scope:
 * it is valid only during the call, so accumulate from it or copy it, never keep it.
 */
@FunctionalInterface
public interface LinearInputObserver {
    void accept(LinearName name, NDArray input);
}
