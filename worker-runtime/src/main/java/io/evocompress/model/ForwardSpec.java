package io.evocompress.model;

import io.evocompress.EvocompressException;

/**
 * How a family assembles its forward from the shared parts: the norm, how positions enter, the
 * MLP, where the norms sit, and the extras around the embeddings. Families build it in their
 * {@link Architecture#parse}; {@link #llama()} is the Llama block.
 *
 * @param norm               RMSNorm (no bias) or LayerNorm with bias, for every norm of the model
 * @param positions          rotary (in attention), learned absolute (added to the embeddings), or ALiBi (attention bias)
 * @param mlp                SwiGLU (gate, up, down), fc1-ReLU-fc2, or GELU-tanh (up, down)
 * @param postLayerNorm      OPT's {@code do_layer_norm_before: false}: norm after each residual add
 * @param positionOffset     learned positions: row of position 0 (OPT: 2)
 * @param embedProjDim       OPT's {@code word_embed_proj_dim} when it differs from the hidden size
 *                           (project_in / project_out present), otherwise 0
 * @param embedNorm          BLOOM's word_embeddings_layernorm
 * @param finalNorm          whether the model has a norm before the LM head
 */
public record ForwardSpec(Norm norm, Positions positions, Mlp mlp, boolean postLayerNorm, int positionOffset,
                          int embedProjDim, boolean embedNorm, boolean finalNorm) {

    public enum Norm { RMS, LAYER }

    public enum Positions { ROPE, LEARNED, ALIBI }

    public enum Mlp {
        SWIGLU, RELU, GELU_TANH;

        /** Whether the MLP has a gate projection next to its up projection. */
        public boolean gated() {
            return this == SWIGLU;
        }
    }

    public ForwardSpec {
        if (positionOffset < 0 || embedProjDim < 0) {
            throw new EvocompressException("position offset and embedding projection must be >= 0");
        }
    }

    /** The Llama block: RMSNorm, rotary, SwiGLU, pre-norm, a final norm, nothing around the embeddings. */
    public static ForwardSpec llama() {
        return new ForwardSpec(Norm.RMS, Positions.ROPE, Mlp.SWIGLU, false, 0, 0, false, true);
    }

    public boolean hasNormBias() {
        return norm == Norm.LAYER;
    }
}
