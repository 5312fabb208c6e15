package io.evocompress.model.llama;

import io.evocompress.model.ModelConfig;

import io.evocompress.EvocompressException;

/** Qwen2 ({@code model_type: qwen2}): Llama with biases on q, k and v (not o). */
public class Qwen2Architecture extends LlamaArchitecture {

    @Override
    public String modelType() {
        return "qwen2";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        if (f.optionalBoolean("use_sliding_window", false)) {
            throw new EvocompressException("config.json: qwen2 with use_sliding_window=true (window on some layers only) "
                + "is not supported; set it to false (the Qwen2 default).");
        }
        return build(f, true, false, false, 0);
    }
}
