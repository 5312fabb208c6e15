package io.evocompress.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A job's configuration: a YAML file (on any Hadoop file system) with {@code --set key=value}
 * overrides by dotted key, as Spark's {@code --conf} does. Values given with --set are parsed as
 * YAML scalars or flow collections ({@code 0.7}, {@code true}, {@code [8, 2048]}). Every getter
 * names the setting and the file when a value is missing or of the wrong type, and
 * {@link #requireOnly} rejects misspelt keys before any work starts.
 */
public final class JobConfig {
    /** Strict: a key given twice in one mapping is an error, not "the last one wins". */
    private static final YAMLMapper YAML = YAMLMapper.builder()
        .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectNode root;
    private final String source;

    private JobConfig(ObjectNode root, String source) {
        this.root = root;
        this.source = source;
    }

    /** Reads {@code location} (YAML) and applies the overrides in order. */
    public static JobConfig load(String location, List<String> overrides, Configuration conf) {
        org.apache.hadoop.fs.Path path = HadoopFiles.path(location);
        String text = HadoopFiles.readUtf8(HadoopFiles.fileSystem(path, conf), path, "configuration");
        JsonNode node;
        try {
            node = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            String duplicate = e.getOriginalMessage().startsWith("Duplicate field")
                ? ": a setting may be given once per mapping; remove one of the two" : "";
            throw new EvocompressException("Configuration " + location + " is not valid YAML: "
                + e.getOriginalMessage() + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")")
                + duplicate);
        }
        if (node == null || node.isMissingNode() || node.isNull()) {
            node = JsonNodeFactory.instance.objectNode();
        }
        if (!node.isObject()) {
            throw new EvocompressException("Configuration " + location + " must be a YAML mapping of settings, but its top level is a "
                + node.getNodeType().toString().toLowerCase());
        }
        JobConfig config = new JobConfig((ObjectNode) node, location);
        config.apply(overrides);
        return config;
    }

    /** A configuration from a tree (tests, defaults) with overrides applied. */
    public static JobConfig of(ObjectNode root, String source, List<String> overrides) {
        JobConfig config = new JobConfig(root.deepCopy(), source);
        config.apply(overrides);
        return config;
    }

    private void apply(List<String> overrides) {
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new EvocompressException("--set needs key=value, but got '" + o + "'");
            }
            set(o.substring(0, eq).trim(), parseScalar(o.substring(eq + 1)));
        }
    }

    private static JsonNode parseScalar(String text) {
        if (text.isEmpty()) {
            return JsonNodeFactory.instance.textNode("");
        }
        try {
            JsonNode n = YAML.readTree(text);
            return n == null || n.isMissingNode() ? JsonNodeFactory.instance.textNode(text) : n;
        } catch (JsonProcessingException e) {
            return JsonNodeFactory.instance.textNode(text);
        }
    }

    /** Sets a dotted key, creating the mappings on the way. */
    public void set(String key, JsonNode value) {
        String[] parts = key.split("\\.");
        ObjectNode node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || !child.isObject()) {
                child = node.putObject(parts[i]);
            }
            node = (ObjectNode) child;
        }
        node.set(parts[parts.length - 1], value);
    }

    /** Where the configuration came from, for messages. */
    public String source() {
        return source;
    }

    /** The value at a dotted key, or null when absent (or null). */
    public JsonNode node(String key) {
        JsonNode node = root;
        for (String part : key.split("\\.")) {
            if (node == null || !node.isObject()) {
                return null;
            }
            node = node.get(part);
        }
        return node == null || node.isNull() ? null : node;
    }

    public boolean has(String key) {
        return node(key) != null;
    }

    /** A sub-configuration (a mapping), empty when absent. */
    public JobConfig section(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return new JobConfig(JsonNodeFactory.instance.objectNode(), source + " [" + key + "]");
        }
        if (!n.isObject()) {
            throw wrongType(key, "a mapping of settings", n);
        }
        return new JobConfig((ObjectNode) n, source + " [" + key + "]");
    }

    public String string(String key) {
        JsonNode n = required(key);
        if (!n.isValueNode()) {
            throw wrongType(key, "a string", n);
        }
        return n.asText();
    }

    /**
     * An output directory setting, checked before any work ({@link io.evocompress.fs.OutputLocation}):
     * not a regular file, writable, not the model's directory.
     */
    public String outputLocation(String key, String model) {
        String location = string(key);
        io.evocompress.fs.OutputLocation.check(location, "Setting '" + key + "' in " + source, model);
        return location;
    }

    public String stringOr(String key, String defaultValue) {
        return has(key) ? string(key) : defaultValue;
    }

    public double number(String key) {
        JsonNode n = required(key);
        if (n.isNumber()) {
            return n.asDouble();
        }
        if (n.isTextual()) {
            try {
                return Double.parseDouble(n.asText().trim());
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw wrongType(key, "a number", n);
    }

    public double numberOr(String key, double defaultValue) {
        return has(key) ? number(key) : defaultValue;
    }

    public long integer(String key) {
        double v = number(key);
        if (v != Math.rint(v) || Double.isInfinite(v)) {
            throw wrongType(key, "an integer", node(key));
        }
        return (long) v;
    }

    public long integerOr(String key, long defaultValue) {
        return has(key) ? integer(key) : defaultValue;
    }

    public int intOr(String key, int defaultValue) {
        long v = integerOr(key, defaultValue);
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw wrongType(key, "an integer below 2^31", node(key));
        }
        return (int) v;
    }

    /** {@link #intOr}, which must be at least 1. */
    public int positiveIntOr(String key, int defaultValue) {
        int v = intOr(key, defaultValue);
        require(v >= 1, key, "at least 1", v);
        return v;
    }

    /**
     * {@link #intOr} within [min, max]: the bound on a setting that multiplies work or storage, with
     * {@code why} saying what it multiplies ("each level is a file per layer").
     */
    public int boundedIntOr(String key, int defaultValue, int min, int max, String why) {
        int v = intOr(key, defaultValue);
        require(v >= min, key, "at least " + min, v);
        if (v > max) {
            throw new EvocompressException("Setting '" + key + "' in " + source + " must be at most " + max + " (" + why
                + "), but was " + v);
        }
        return v;
    }

    /**
     * Fails unless {@code ok}, naming the setting and this configuration's file:
     * "Setting 'KEY' in FILE must be WHAT, but was VALUE".
     */
    public void require(boolean ok, String key, String what, Object value) {
        if (!ok) {
            throw new EvocompressException("Setting '" + key + "' in " + source + " must be " + what + ", but was " + value);
        }
    }

    public boolean bool(String key) {
        JsonNode n = required(key);
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isTextual() && (n.asText().equalsIgnoreCase("true") || n.asText().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(n.asText());
        }
        throw wrongType(key, "true or false", n);
    }

    public boolean boolOr(String key, boolean defaultValue) {
        return has(key) ? bool(key) : defaultValue;
    }

    /** A list value; a single scalar counts as a list of one. */
    public List<JsonNode> list(String key) {
        JsonNode n = node(key);
        List<JsonNode> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(out::add);
        } else if (n.isValueNode()) {
            out.add(n);
        } else {
            throw wrongType(key, "a list", n);
        }
        return out;
    }

    /** A value that must be one of {@code allowed}. */
    public String choice(String key, String defaultValue, Set<String> allowed) {
        String v = stringOr(key, defaultValue);
        if (!allowed.contains(v)) {
            throw new EvocompressException("Setting '" + key + "' in " + source + " must be one of "
                + new TreeSet<>(allowed) + ", but was '" + v + "'");
        }
        return v;
    }

    /**
     * Rejects settings outside {@code known} (dotted keys; a key ending in ".*" allows anything
     * below it), so a misspelt setting fails before any work instead of being ignored.
     */
    public void requireOnly(Set<String> known) {
        List<String> unknown = new ArrayList<>();
        collectUnknown(root, "", known, unknown);
        if (!unknown.isEmpty()) {
            throw new EvocompressException("Unknown setting" + (unknown.size() > 1 ? "s " : " ") + unknown + " in " + source
                + ". Known settings: " + new TreeSet<>(known));
        }
    }

    private static void collectUnknown(JsonNode node, String prefix, Set<String> known, List<String> unknown) {
        Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (known.contains(key + ".*")) {
                continue;
            }
            if (e.getValue().isObject() && known.stream().anyMatch(k -> k.startsWith(key + "."))) {
                collectUnknown(e.getValue(), key, known, unknown);
            } else if (!known.contains(key)) {
                unknown.add(key);
            }
        }
    }

    /** The effective configuration (file plus overrides), for result files and hashes. */
    public ObjectNode tree() {
        return root.deepCopy();
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode required(String key) {
        JsonNode n = node(key);
        if (n == null) {
            throw new EvocompressException("Setting '" + key + "' is missing from " + source
                + "; add it to the file or pass --set " + key + "=VALUE");
        }
        return n;
    }

    private EvocompressException wrongType(String key, String expected, JsonNode n) {
        return new EvocompressException("Setting '" + key + "' in " + source + " must be " + expected + ", but was "
            + (n == null ? "missing" : n.toString()));
    }
}
