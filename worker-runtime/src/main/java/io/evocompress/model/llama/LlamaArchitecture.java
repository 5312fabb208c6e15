package io.evocompress.model.llama;

import io.evocompress.model.Architecture;
import io.evocompress.model.ModelConfig;

/** Llama 2 and 3 ({@code model_type: llama}), with Llama 3 rope scaling and optional attention/MLP biases. */
public class LlamaArchitecture implements Architecture {

    @Override
    public String modelType() {
        return "llama";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        boolean attentionBias = f.optionalBoolean("attention_bias", false);
        return build(f, attentionBias, attentionBias, f.optionalBoolean("mlp_bias", false), 0);
    }

    /** The fields every Llama-family config shares; subclasses choose biases and the window. */
    protected ModelConfig build(ConfigFields f, boolean qkvBias, boolean oBias, boolean mlpBias, int slidingWindow) {
        String act = f.root().path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new io.evocompress.EvocompressException("config.json: hidden_act '" + act
                + "' is not supported; the Llama family uses silu (SwiGLU).");
        }
        int hidden = f.requiredInt("hidden_size");
        int heads = f.requiredInt("num_attention_heads");
        int headDim = f.optionalInt("head_dim", heads > 0 ? hidden / heads : 0);
        return new ModelConfig(
            modelType(),
            hidden,
            f.requiredInt("intermediate_size"),
            f.requiredInt("num_hidden_layers"),
            heads,
            f.optionalInt("num_key_value_heads", heads),
            headDim,
            f.requiredInt("vocab_size"),
            f.optionalInt("max_position_embeddings", 2048),
            f.optionalDouble("rms_norm_eps", 1e-6),
            f.optionalDouble("rope_theta", 10000.0),
            f.ropeScaling(),
            f.optionalBoolean("tie_word_embeddings", false),
            qkvBias,
            oBias,
            mlpBias,
            slidingWindow,
            f.optionalInt("bos_token_id", 1),
            f.optionalInt("eos_token_id", 2));
    }
}
