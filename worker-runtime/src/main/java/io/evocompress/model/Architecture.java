package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A model family: how its config.json maps onto a {@link ModelConfig}. The forward pass is shared;
 * families differ in which biases they carry and how attention is windowed.
 */
public interface Architecture {
    /** The config.json {@code model_type} this family is registered under. */
    String modelType();

    ModelConfig parse(ConfigFields fields);

    /** Tensor names, as in Hugging Face checkpoints of this family. */
    default String blockPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    default String embedTokens() {
        return "model.embed_tokens.weight";
    }

    default String finalNorm() {
        return "model.norm.weight";
    }

    default String lmHead() {
        return "lm_head.weight";
    }

    /** Common reading of a config.json node. */
    interface ConfigFields {
        JsonNode root();

        int requiredInt(String field);

        int optionalInt(String field, int defaultValue);

        double optionalDouble(String field, double defaultValue);

        boolean optionalBoolean(String field, boolean defaultValue);

        RopeScaling ropeScaling();
    }
}
