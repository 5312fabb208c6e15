package io.evocompress.evopress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.AtomicFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.search.SearchMethod;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every setting that decides a search's result, stored with its hash beside the search state
 * ({@code state/search-settings.json}), so that {@code --resume} continues only the run it was started
 * as: the effective configuration (file and --set overrides) flattened to dotted keys, the method and
 * the variant database id (which covers the model's config, weights and calibration tokens), without
 * the settings that only say where or how fast it runs, or when it stops ({@link #IGNORED}). A resume whose settings
 * differ is refused, naming each differing setting with both values.
 */
public final class ResumeSettings {
    static final String FILE = "state/search-settings.json";
    /**
     * Where and how fast the search runs, not what it finds; and search.generations, which only says
     * when to stop (every generation is seeded by (seed, generation)), so a resume may extend a run, but
     * not end it before the generations its state already holds ({@link SearchJob} checks that); and
     * search.selection-check, which only observes.
     */
    static final Set<String> IGNORED = Set.of("output", "device", "search.candidates-per-task", "search.generations",
        "search.selection-check");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TreeMap<String, String> settings;
    /** How a refusal begins: "--resume: the search" (search), "the darwin run" (darwin, which always resumes). */
    private final String run;

    private ResumeSettings(TreeMap<String, String> settings, String run) {
        this.settings = settings;
        this.run = run;
    }

    public static ResumeSettings of(SearchSettings s, SearchMethod method, String databaseId) {
        return of(s.effectiveConfig(), IGNORED, method.label(), databaseId, "--resume: the search");
    }

    /**
     * The settings of any resumable run: {@code config} flattened, without {@code ignored}, with the method's
     * label and the database id; {@code run} begins a refusal's message.
     */
    public static ResumeSettings of(JsonNode config, Set<String> ignored, String method, String databaseId, String run) {
        TreeMap<String, String> out = new TreeMap<>();
        flatten(config, "", out);
        ignored.forEach(out::remove);
        out.put("(method)", method);
        if (databaseId != null) {
            out.put("(database id)", databaseId);
        }
        return new ResumeSettings(out, run);
    }

    private static void flatten(JsonNode node, String prefix, Map<String, String> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().isObject()) {
                flatten(e.getValue(), key, out);
            } else {
                out.put(key, e.getValue().toString());
            }
        }
    }

    public String hash() {
        StringBuilder sb = new StringBuilder();
        settings.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return VariantStore.sha256(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Writes the settings beside the state (once, when the search starts). */
    public void write(String output) {
        Path file = new Path(HadoopFiles.path(output), FILE);
        ObjectNode root = JSON.createObjectNode();
        root.put("hash", hash());
        ObjectNode values = root.putObject("settings");
        settings.forEach(values::put);
        try {
            AtomicFile.write(HadoopFiles.fileSystem(file, HadoopFiles.defaultConf()), file,
                JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        } catch (IOException e) {
            throw new EvocompressException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Fails unless the search state at {@code output} was started with these settings; the message
     * names every setting that differs.
     */
    public void checkResumable(String output) {
        Path file = new Path(HadoopFiles.path(output), FILE);
        FileSystem fs = HadoopFiles.fileSystem(file, HadoopFiles.defaultConf());
        if (!HadoopFiles.exists(fs, file)) {
            throw new EvocompressException(run + "'s state in " + output + " has no " + FILE
                + " (it was started by an older version, or the file was removed), so it cannot be shown to be the "
                + "same run: delete " + new Path(HadoopFiles.path(output), "state") + " to start again.");
        }
        JsonNode root;
        try {
            root = JSON.readTree(HadoopFiles.readUtf8(fs, file, "search settings"));
        } catch (IOException e) {
            throw new EvocompressException(file + " is not valid JSON (" + e.getMessage()
                + "): delete the state directory to start the search again.", e);
        }
        if (root == null || !root.path("settings").isObject()) {
            throw new EvocompressException(file + " has no 'settings': delete the state directory to start the search again.");
        }
        if (root.path("hash").asText("").equals(hash())) {
            return;
        }
        TreeMap<String, String> stored = new TreeMap<>();
        root.get("settings").properties().forEach(e -> stored.put(e.getKey(), e.getValue().asText()));
        List<String> differences = new ArrayList<>();
        Set<String> keys = new TreeSet<>(stored.keySet());
        keys.addAll(settings.keySet());
        for (String k : keys) {
            String was = stored.get(k);
            String now = settings.get(k);
            if (!java.util.Objects.equals(was, now)) {
                differences.add(k + " (started with " + (was == null ? "unset" : was) + ", now " + (now == null ? "unset" : now) + ")");
            }
        }
        throw new EvocompressException(run + " in " + output + " was started with other settings, so "
            + "continuing it would give a result no uninterrupted run gives. Differing: " + String.join(", ", differences)
            + ". Use the original settings, or another output (or delete its state/) to start a new run.");
    }
}
