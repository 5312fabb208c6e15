package io.evocompress.model;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** config.json of each supported family parsed into a {@link ModelConfig}. */
class ArchitectureRegistryTest {

    // Qwen2-0.5B's config.json (the fields that matter here): q/k/v carry biases, o does not;
    // sliding_window is present but off (use_sliding_window false).
    private static final String QWEN2 = """
        {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
         "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
         "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
         "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "use_sliding_window": false,
         "max_window_layers": 24, "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151643}""";

    // Mistral-7B-v0.1's config.json.
    private static final String MISTRAL = """
        {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_act": "silu",
         "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
         "num_key_value_heads": 8, "vocab_size": 32000, "max_position_embeddings": 32768,
         "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
         "bos_token_id": 1, "eos_token_id": 2}""";

    private static ModelConfig parse(String json) {
        return ArchitectureRegistry.parseConfig(json, "m/config.json");
    }

    private static String failure(String json) {
        return assertThrows(EvocompressException.class, () -> parse(json)).getMessage();
    }

    @Test
    void qwen2HasQkvBiasButNoOutputBias() {
        ModelConfig c = parse(QWEN2);
        assertEquals("qwen2", c.modelType());
        assertTrue(c.qkvBias());
        assertFalse(c.oBias());
        assertFalse(c.mlpBias());
        assertEquals(0, c.slidingWindow(), "use_sliding_window false: full attention despite sliding_window");
        assertEquals(64, c.headDim(), "896 / 14");
        assertEquals(7, c.groupSize());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(1_000_000.0, c.ropeTheta());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(151643, c.bosTokenId());
        // q, k, v biases count: 896 + 2 * 128 per layer on top of the weights and norms.
        ModelConfig noBias = new ModelConfig("qwen2", 896, 4864, 24, 14, 2, 64, 151936, 32768, 1e-6, 1e6, null,
            true, false, false, false, 0, 1, 2);
        assertEquals(24L * (896 + 2 * 128), c.parameterCount() - noBias.parameterCount());
        // Qwen2-0.5B has 494,032,768 parameters.
        assertEquals(494_032_768L, c.parameterCount());

        String m = failure(QWEN2.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"));
        assertTrue(m.startsWith("m/config.json: qwen2 with use_sliding_window=true"), m);
    }

    @Test
    void mistralKeepsItsSlidingWindow() {
        ModelConfig c = parse(MISTRAL);
        assertEquals("mistral", c.modelType());
        assertEquals(4096, c.slidingWindow());
        assertEquals(128, c.headDim());
        assertFalse(c.qkvBias() || c.oBias() || c.mlpBias());
        assertFalse(c.tieWordEmbeddings());
        assertNull(c.ropeScaling());
        // Mistral-7B-v0.1 has 7,241,732,096 parameters.
        assertEquals(7_241_732_096L, c.parameterCount());
        // Later Mistral configs say "sliding_window": null: full attention.
        assertEquals(0, parse(MISTRAL.replace("\"sliding_window\": 4096", "\"sliding_window\": null")).slidingWindow());
        String m = failure(MISTRAL.replace("\"sliding_window\": 4096", "\"sliding_window\": -1"));
        assertTrue(m.contains("sliding_window must be positive or absent, but was -1"), m);
    }

    @Test
    void headDimDefaultsToHiddenOverHeads() {
        String llama = """
            {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
             "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": 32000}""";
        ModelConfig c = parse(llama);
        assertEquals(64, c.headDim());
        assertEquals(2048, c.qDim());
        assertEquals(256, c.kvDim());
        assertEquals(2048, c.maxPositionEmbeddings(), "default");
        assertEquals(10000.0, c.ropeTheta(), "default");
        assertEquals(1e-6, c.rmsNormEps(), "default");
        // An explicit head_dim wins, even when heads * head_dim != hidden (as in Gemma-style configs).
        ModelConfig wide = parse(llama.replace("\"num_key_value_heads\": 4", "\"num_key_value_heads\": 4, \"head_dim\": 128"));
        assertEquals(128, wide.headDim());
        assertEquals(4096, wide.qDim());
        // num_key_value_heads defaults to num_attention_heads (no grouping).
        assertEquals(32, parse(llama.replace(", \"num_key_value_heads\": 4", "")).numKvHeads());
        // Llama with attention_bias: biases on q, k, v and o.
        ModelConfig biased = parse(llama.replace("\"vocab_size\"", "\"attention_bias\": true, \"vocab_size\""));
        assertTrue(biased.qkvBias() && biased.oBias());
    }

    @Test
    void stories260kParameterCountMatchesItsTensors() {
        try (CheckpointReader reader = CheckpointReader.open(Fixtures.stories260k().toString())) {
            ModelConfig c = ModelLoader.config(reader);
            long numel = reader.tensorFiles().keySet().stream().mapToLong(n -> reader.info(n).numel()).sum();
            assertEquals(260_032L, numel);
            assertEquals(numel, c.parameterCount());
            assertEquals(8, c.headDim());
            assertEquals(2, c.groupSize());
        }
    }

    @Test
    void badConfigsNameTheFileAndTheField() {
        assertEquals("m/config.json: unknown model_type 'gpt2'. Supported model types: bloom, llama, mistral, opt, phi3, qwen2.",
            failure(MISTRAL.replace("\"mistral\"", "\"gpt2\"")));
        assertEquals("m/config.json has no model_type. Supported model types: bloom, llama, mistral, opt, phi3, qwen2.",
            failure(MISTRAL.replace("\"model_type\": \"mistral\",", "")));
        assertEquals("m/config.json: required integer field 'intermediate_size' is missing or not an integer.",
            failure(MISTRAL.replace("\"intermediate_size\": 14336,", "")));
        String m = failure(MISTRAL.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5"));
        assertEquals("m/config.json: num_attention_heads (32) must be a multiple of num_key_value_heads (5)", m);
        m = failure(MISTRAL.replace("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\""));
        assertTrue(m.startsWith("m/config.json: hidden_act 'gelu' is not supported"), m);
        m = failure("{not json");
        assertTrue(m.startsWith("m/config.json is not valid JSON"), m);
    }
}
