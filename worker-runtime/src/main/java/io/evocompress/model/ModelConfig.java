package io.evocompress.model;

import io.evocompress.EvocompressException;

/**
 * The shape of a causal LM of any registered family, read from config.json by an {@link Architecture}
 * (its own keys mapped onto these; {@code rmsNormEps} is the epsilon of every norm, RMS or Layer). Immutable;
 * validated on construction with the offending config.json field named.
 *
 * @param slidingWindow attention window in tokens (Mistral), or 0 for full causal attention
 */
public record ModelConfig(
    String modelType,
    int hiddenSize,          // H
    int intermediateSize,    // I (MLP width)
    int numLayers,           // L decoder blocks
    int numHeads,            // query heads
    int numKvHeads,          // key/value heads (grouped-query attention when < numHeads)
    int headDim,             // d per head
    int vocabSize,           // V
    int maxPositionEmbeddings,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling, // null: none
    boolean tieWordEmbeddings,
    boolean qkvBias,
    boolean oBias,
    boolean mlpBias,
    int slidingWindow,
    int bosTokenId,
    int eosTokenId,
    ForwardSpec forward) {   // how the family's forward is assembled (norm, positions, MLP, extras)

    /** A Llama-block config ({@link ForwardSpec#llama()}). */
    public ModelConfig(String modelType, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
                       int headDim, int vocabSize, int maxPositionEmbeddings, double rmsNormEps, double ropeTheta,
                       RopeScaling ropeScaling, boolean tieWordEmbeddings, boolean qkvBias, boolean oBias, boolean mlpBias,
                       int slidingWindow, int bosTokenId, int eosTokenId) {
        this(modelType, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize,
            maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, qkvBias, oBias, mlpBias,
            slidingWindow, bosTokenId, eosTokenId, ForwardSpec.llama());
    }

    public ModelConfig {
        if (forward == null) {
            forward = ForwardSpec.llama();
        }
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new EvocompressException("config.json: num_attention_heads (" + numHeads
                + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (forward.positions() == ForwardSpec.Positions.ROPE && headDim % 2 != 0) {
            throw new EvocompressException("config.json: head_dim must be even for rotary embeddings, but was " + headDim);
        }
        if (!(rmsNormEps > 0)) {
            throw new EvocompressException("config.json: the norm epsilon (rms_norm_eps, layer_norm_epsilon) must be positive, but was "
                + rmsNormEps);
        }
        if (!(ropeTheta > 0)) {
            throw new EvocompressException("config.json: rope_theta must be positive, but was " + ropeTheta);
        }
        if (ropeScaling != null && ropeScaling.shortFactor() != null && ropeScaling.shortFactor().length * 2 != headDim) {
            throw new EvocompressException("config.json: rope_scaling.short_factor and long_factor have "
                + ropeScaling.shortFactor().length + " entries but must have head_dim / 2 = " + headDim / 2);
        }
        if (slidingWindow < 0) {
            throw new EvocompressException("config.json: sliding_window must be positive or absent, but was " + slidingWindow);
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new EvocompressException("config.json: " + field + " must be positive, but was " + value);
        }
    }

    /** The width of the token embeddings and the LM head: OPT's word_embed_proj_dim, else the hidden size. */
    public int embedDim() {
        return forward.embedProjDim() > 0 ? forward.embedProjDim() : hiddenSize;
    }

    /** Key/value heads each query head group shares: numHeads / numKvHeads. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Parameters of one decoder block's linear layers (no norms, no biases). */
    public long linearParamsPerBlock() {
        long attn = (long) hiddenSize * qDim() * 2 + (long) hiddenSize * kvDim() * 2;
        long mlp = (forward.mlp().gated() ? 3L : 2L) * hiddenSize * intermediateSize;
        return attn + mlp;
    }

    /** Every parameter of the model. */
    public long parameterCount() {
        long block = linearParamsPerBlock() + 2L * hiddenSize;
        if (qkvBias) {
            block += qDim() + 2L * kvDim();
        }
        if (oBias) {
            block += hiddenSize;
        }
        if (mlpBias) {
            block += (forward.mlp().gated() ? 2L : 1L) * intermediateSize + hiddenSize;
        }
        if (forward.hasNormBias()) {
            block += 2L * hiddenSize;
        }
        long embed = (long) vocabSize * embedDim();
        long extras = forward.hasNormBias() ? 2L * hiddenSize : hiddenSize;          // final norm
        if (forward.positions() == ForwardSpec.Positions.LEARNED) {
            extras += (long) (maxPositionEmbeddings + forward.positionOffset()) * hiddenSize;
        }
        if (forward.embedProjDim() > 0) {
            extras += 2L * forward.embedProjDim() * hiddenSize;                       // project_in, project_out
        }
        if (forward.embedNorm()) {
            extras += 2L * hiddenSize;
        }
        return embed * (tieWordEmbeddings ? 1 : 2) + extras + block * numLayers;
    }

    /**
     * FLOPs of one forward pass over {@code batch} sequences of {@code seqLen} tokens, counting 2 per
     * multiply-add of every linear layer (LM head included) and of attention (QK^T and PV, full
     * T x T as computed with a causal mask).
     */
    public double forwardFlops(int batch, int seqLen) {
        double tokens = (double) batch * seqLen;
        double linear = 2.0 * tokens * (linearParamsPerBlock() * numLayers + (double) vocabSize * embedDim());
        double attention = 2.0 * 2.0 * batch * (double) seqLen * seqLen * qDim() * numLayers;
        return linear + attention;
    }
}
