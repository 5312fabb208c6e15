package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.model.bloom.BloomArchitecture;
import io.evocompress.model.llama.LlamaArchitecture;
import io.evocompress.model.llama.MistralArchitecture;
import io.evocompress.model.llama.Qwen2Architecture;
import io.evocompress.model.opt.OptArchitecture;
import io.evocompress.model.phi3.Phi3Architecture;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Model families keyed by config.json's {@code model_type}. */
public final class ArchitectureRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Architecture> BY_TYPE = new TreeMap<>();

    static {
        for (Architecture a : List.of(new LlamaArchitecture(), new MistralArchitecture(), new Qwen2Architecture(),
                new OptArchitecture(), new BloomArchitecture(), new Phi3Architecture())) {
            BY_TYPE.put(a.modelType(), a);
        }
    }

    private ArchitectureRegistry() {
    }

    public static java.util.Set<String> supportedTypes() {
        return BY_TYPE.keySet();
    }

    /** The family registered under {@code modelType}, or null. */
    public static Architecture find(String modelType) {
        return BY_TYPE.get(modelType);
    }

    public static Architecture forType(String modelType, String where) {
        Architecture a = BY_TYPE.get(modelType);
        if (a == null) {
            throw new EvocompressException(where + ": unknown model_type '" + modelType + "'. Supported model types: "
                + String.join(", ", BY_TYPE.keySet()) + ".");
        }
        return a;
    }

    /** Parses config.json text; {@code where} names the file in errors. */
    public static ModelConfig parseConfig(String json, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new EvocompressException(where + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new EvocompressException(where + " must hold a JSON object.");
        }
        JsonNode type = root.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new EvocompressException(where + " has no model_type. Supported model types: "
                + String.join(", ", BY_TYPE.keySet()) + ".");
        }
        Architecture arch = forType(type.asText(), where);
        try {
            return arch.parse(new JsonFields(root, where));
        } catch (EvocompressException e) {
            if (e.getMessage().startsWith(where)) {
                throw e;
            }
            throw new EvocompressException(where + ": " + e.getMessage().replaceFirst("^config\\.json: ", ""), e);
        }
    }

    private record JsonFields(JsonNode root, String where) implements Architecture.ConfigFields {
        @Override
        public int requiredInt(String field) {
            JsonNode n = root.get(field);
            if (n == null || !n.canConvertToInt()) {
                throw new EvocompressException(where + ": required integer field '" + field + "' is missing or not an integer.");
            }
            return n.asInt();
        }

        @Override
        public int optionalInt(String field, int defaultValue) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return defaultValue;
            }
            if (!n.canConvertToInt()) {
                throw new EvocompressException(where + ": field '" + field + "' must be an integer, but was " + n);
            }
            return n.asInt();
        }

        @Override
        public double optionalDouble(String field, double defaultValue) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return defaultValue;
            }
            if (!n.isNumber()) {
                throw new EvocompressException(where + ": field '" + field + "' must be a number, but was " + n);
            }
            return n.asDouble();
        }

        @Override
        public boolean optionalBoolean(String field, boolean defaultValue) {
            JsonNode n = root.get(field);
            return n == null || n.isNull() ? defaultValue : n.asBoolean();
        }

        @Override
        public RopeScaling ropeScaling() {
            JsonNode n = root.get("rope_scaling");
            if (n == null || n.isNull()) {
                return null;
            }
            String type = n.has("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("");
            if (type.equals("default")) {
                return null;
            }
            if (type.equals("longrope")) {
                int max = optionalInt("max_position_embeddings", 2048);
                int original = n.path("original_max_position_embeddings").asInt(optionalInt("original_max_position_embeddings", max));
                JsonNode att = n.get("attention_factor");
                return RopeScaling.longrope(factors(n, "short_factor"), factors(n, "long_factor"), max, original,
                    att == null || att.isNull() ? null : att.asDouble());
            }
            return new RopeScaling(type, n.path("factor").asDouble(1.0), n.path("low_freq_factor").asDouble(1.0),
                n.path("high_freq_factor").asDouble(4.0), n.path("original_max_position_embeddings").asInt(8192));
        }

        private double[] factors(JsonNode scaling, String field) {
            JsonNode a = scaling.get(field);
            if (a == null || !a.isArray()) {
                throw new EvocompressException(where + ": rope_scaling." + field + " must be a list of numbers (longrope).");
            }
            double[] out = new double[a.size()];
            for (int i = 0; i < out.length; i++) {
                if (!a.get(i).isNumber()) {
                    throw new EvocompressException(where + ": rope_scaling." + field + "[" + i + "] is not a number: " + a.get(i));
                }
                out[i] = a.get(i).asDouble();
            }
            return out;
        }
    }
}
