package io.evocompress.model.opt;

import io.evocompress.EvocompressException;
import io.evocompress.model.Architecture;
import io.evocompress.model.ForwardSpec;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;

/**
 * OPT ({@code model_type: opt}, Hugging Face's {@code OPTForCausalLM}): LayerNorm with bias,
 * learned absolute positions looked up at position + 2, multi-head attention and fc1-ReLU-fc2 with
 * biases ({@code enable_bias}), pre-LN with the decoder's final_layer_norm
 * ({@code do_layer_norm_before: true}) or post-LN without it (false, as OPT-350m), and
 * {@code project_in}/{@code project_out} when {@code word_embed_proj_dim} differs from
 * {@code hidden_size}. The LM head reads the embedding width and is tied by default.
 */
public class OptArchitecture implements Architecture {
    /** OPT's learned positions start at row 2 (rows 0 and 1 are a fairseq leftover). */
    public static final int POSITION_OFFSET = 2;

    @Override
    public String modelType() {
        return "opt";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        String act = f.root().path("activation_function").asText("relu");
        if (!act.equals("relu")) {
            throw new EvocompressException("config.json: activation_function '" + act
                + "' is not supported for opt; only relu (every released OPT) is.");
        }
        if (!f.optionalBoolean("layer_norm_elementwise_affine", true)) {
            throw new EvocompressException("config.json: layer_norm_elementwise_affine false (LayerNorms without weight "
                + "and bias) is not supported for opt; only true is.");
        }
        int hidden = f.requiredInt("hidden_size");
        int heads = f.requiredInt("num_attention_heads");
        if (heads <= 0 || hidden % heads != 0) {
            throw new EvocompressException("config.json: hidden_size " + hidden + " must be a multiple of num_attention_heads "
                + heads + ".");
        }
        int proj = f.optionalInt("word_embed_proj_dim", hidden);
        boolean preLn = f.optionalBoolean("do_layer_norm_before", true);
        boolean finalNorm = preLn && !f.optionalBoolean("_remove_final_layer_norm", false);
        boolean bias = f.optionalBoolean("enable_bias", true);
        ForwardSpec spec = new ForwardSpec(ForwardSpec.Norm.LAYER, ForwardSpec.Positions.LEARNED, ForwardSpec.Mlp.RELU,
            !preLn, POSITION_OFFSET, proj == hidden ? 0 : proj, false, finalNorm);
        return new ModelConfig(modelType(), hidden, f.requiredInt("ffn_dim"), f.requiredInt("num_hidden_layers"), heads, heads,
            hidden / heads, f.requiredInt("vocab_size"), f.optionalInt("max_position_embeddings", 2048), 1e-5, 10000.0, null,
            f.optionalBoolean("tie_word_embeddings", true), bias, bias, bias, 0,
            f.optionalInt("bos_token_id", 2), f.optionalInt("eos_token_id", 2), spec);
    }

    @Override
    public String blockPrefix(int layer) {
        return "model.decoder.layers." + layer + ".";
    }

    @Override
    public String embedTokens() {
        return "model.decoder.embed_tokens.weight";
    }

    @Override
    public String positionEmbeddings() {
        return "model.decoder.embed_positions.weight";
    }

    @Override
    public String projectIn() {
        return "model.decoder.project_in.weight";
    }

    @Override
    public String projectOut() {
        return "model.decoder.project_out.weight";
    }

    @Override
    public String finalNormStem() {
        return "model.decoder.final_layer_norm";
    }

    @Override
    public String attentionNorm() {
        return "self_attn_layer_norm";
    }

    @Override
    public String mlpNorm() {
        return "final_layer_norm";
    }

    @Override
    public String linearPath(LinearName name) {
        return switch (name) {
            case Q_PROJ -> "self_attn.q_proj";
            case K_PROJ -> "self_attn.k_proj";
            case V_PROJ -> "self_attn.v_proj";
            case O_PROJ -> "self_attn.out_proj";
            case UP_PROJ -> "fc1";
            case DOWN_PROJ -> "fc2";
            case GATE_PROJ -> throw new IllegalArgumentException("OPT has no gate projection");
        };
    }
}
