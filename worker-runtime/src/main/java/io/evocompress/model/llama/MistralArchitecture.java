package io.evocompress.model.llama;

import io.evocompress.model.ModelConfig;

/** Mistral ({@code model_type: mistral}): Llama without biases, with optional sliding-window attention. */
public class MistralArchitecture extends LlamaArchitecture {

    @Override
    public String modelType() {
        return "mistral";
    }

    @Override
    public ModelConfig parse(ConfigFields f) {
        return build(f, false, false, false, f.optionalInt("sliding_window", 0));
    }
}
