package io.evocompress.model.bloom;

import io.evocompress.EvocompressException;
import io.evocompress.model.Architecture;
import io.evocompress.model.ForwardSpec;
import io.evocompress.model.FusedLinear;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;

import java.util.List;

/**
 * BLOOM ({@code model_type: bloom}): LayerNorm with bias (also right after the embeddings,
 * {@code word_embeddings_layernorm}), ALiBi instead of positions, multi-head attention with q/k/v
 * fused as {@code self_attention.query_key_value} (rows per head: [q_h; k_h; v_h]), a GELU-tanh MLP
 * of 4 x hidden, biases everywhere, pre-LN, tied LM head. The search's units are q, k and v
 * ({@code self_attention.query_key_value.q}, ...); export interleaves them back. DarwinLM removes a
 * head's q, k and v rows together ({@link #prunesKeyValueWithHeads}), so a pruned block is still one
 * per-head fused tensor; ALiBi slopes stay those of the kept heads' dense indices.
 */
public class BloomArchitecture implements Architecture {
    private static final FusedLinear QKV = new FusedLinear("self_attention.query_key_value",
        List.of(LinearName.Q_PROJ, LinearName.K_PROJ, LinearName.V_PROJ), true);

    @Override
    public String modelType() {
        return "bloom";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        int tp = f.optionalInt("pretraining_tp", 1);
        if (tp > 1 && f.optionalBoolean("slow_but_exact", false)) {
            throw new EvocompressException("config.json: slow_but_exact true with pretraining_tp " + tp
                + " (the tensor-parallel rounding of the original training) is not supported for bloom; "
                + "set slow_but_exact to false (the same model up to rounding).");
        }
        if (f.optionalBoolean("apply_residual_connection_post_layernorm", false)) {
            throw new EvocompressException("config.json: apply_residual_connection_post_layernorm true is not supported "
                + "for bloom; only false (every released BLOOM) is.");
        }
        int hidden = f.root().has("hidden_size") ? f.requiredInt("hidden_size") : f.requiredInt("n_embed");
        int heads = f.root().has("n_head") ? f.requiredInt("n_head") : f.requiredInt("num_attention_heads");
        int layers = f.root().has("n_layer") ? f.requiredInt("n_layer") : f.requiredInt("num_hidden_layers");
        if (heads <= 0 || hidden % heads != 0) {
            throw new EvocompressException("config.json: hidden_size " + hidden + " must be a multiple of n_head " + heads + ".");
        }
        ForwardSpec spec = new ForwardSpec(ForwardSpec.Norm.LAYER, ForwardSpec.Positions.ALIBI, ForwardSpec.Mlp.GELU_TANH,
            false, 0, 0, true, true);
        // ALiBi has no trained context; seq_length (when written) bounds it, else 2048 (BLOOM's training length)
        int context = f.optionalInt("max_position_embeddings", f.optionalInt("seq_length", 2048));
        return new ModelConfig(modelType(), hidden, 4 * hidden, layers, heads, heads, hidden / heads,
            f.requiredInt("vocab_size"), context, f.optionalDouble("layer_norm_epsilon", 1e-5), 10000.0, null,
            f.optionalBoolean("tie_word_embeddings", true), true, true, true, 0,
            f.optionalInt("bos_token_id", 1), f.optionalInt("eos_token_id", 2), spec);
    }

    @Override
    public String layerCountKey() {
        return "n_layer";
    }

    @Override
    public String basePrefix() {
        return "transformer.";
    }

    @Override
    public String blockPrefix(int layer) {
        return "transformer.h." + layer + ".";
    }

    @Override
    public String embedTokens() {
        return "transformer.word_embeddings.weight";
    }

    @Override
    public String embedNormStem() {
        return "transformer.word_embeddings_layernorm";
    }

    @Override
    public String finalNormStem() {
        return "transformer.ln_f";
    }

    @Override
    public String linearPath(LinearName name) {
        return switch (name) {
            case Q_PROJ -> "self_attention.query_key_value.q";
            case K_PROJ -> "self_attention.query_key_value.k";
            case V_PROJ -> "self_attention.query_key_value.v";
            case O_PROJ -> "self_attention.dense";
            case UP_PROJ -> "mlp.dense_h_to_4h";
            case DOWN_PROJ -> "mlp.dense_4h_to_h";
            case GATE_PROJ -> throw new IllegalArgumentException("BLOOM has no gate projection");
        };
    }

    @Override
    public List<FusedLinear> fused() {
        return List.of(QKV);
    }

    /** A removed head takes its q, k and v rows (one per-head block of query_key_value) with it. */
    @Override
    public boolean prunesKeyValueWithHeads() {
        return true;
    }
}
