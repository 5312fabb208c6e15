package io.evocompress.exporter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.database.VariantDatabase;
import io.evocompress.export.StitchedCheckpoint;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelLoader;
import io.evocompress.search.EvoPressProfile;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The export stage: a profile of a search or schedule result (the result, a baseline, or an EvoPress
 * profile file) stitched from the dense model and the variant database it was searched on, written as a
 * Hugging Face checkpoint through {@link StitchedCheckpoint} (temporary name, renamed when complete).
 */
public final class ResultExport {
    private static final ObjectMapper JSON = new ObjectMapper();
    // a block half of a depth profile: <the family's block stem>.<block>[.self_attn|.mlp]
    private static final Pattern HALF = Pattern.compile("^.+\\.(\\d+)(\\.(self_attn|mlp))?$");

    private ResultExport() {
    }

    /**
     * What to export: the result directory, the profile ({@code result} or a baseline's name) or an
     * EvoPress profile file (null when not given), the dtype of dense tensors, the output location, and
     * the format (null: decided by the profile).
     */
    public record Request(String resultDir, String profile, String profileFile, DType dtype, String out,
                          boolean overwrite, StitchedCheckpoint.Format format) {
    }

    /** What was written: the checkpoint's .safetensors bytes and the dense model's tensors at 2 bytes each. */
    public record Outcome(Path out, String profile, String domain, StitchedCheckpoint.Summary summary,
                          long checkpointBytes, long denseFp16Bytes) {
    }

    public static Outcome run(Request request, Consumer<String> progress) throws IOException {
        String resultDir = request.resultDir();
        Path resultFile = new Path(HadoopFiles.path(resultDir), "result.json");
        FileSystem rfs = HadoopFiles.fileSystem(resultFile, HadoopFiles.defaultConf());
        JsonNode result;
        try {
            result = JSON.readTree(HadoopFiles.readUtf8(rfs, resultFile, "search result (run search first)"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new EvocompressException(resultFile + " is not valid JSON (truncated or edited? "
                + e.getOriginalMessage() + "): run the search again, or with --resume if it was killed.", e);
        }
        String which = request.profile();
        String profileFile = request.profileFile();
        JsonNode entry = which.equals("result") ? result.path("result") : result.path("baselines").path(which);
        if (entry.isMissingNode() || !entry.has("profile")) {
            throw new EvocompressException(resultFile + " has no profile '" + which + "' (profiles: result, "
                + String.join(", ", iterable(result.path("baselines").fieldNames())) + ")");
        }
        String model = result.path("model").asText();
        String domain = result.path("domain").asText();
        DType dtype = request.dtype();
        Path out = HadoopFiles.path(request.out());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        StitchedCheckpoint.Summary summary;
        long denseFp16 = 0;
        try (CheckpointReader dense = CheckpointReader.open(model)) {
            int blocks = ModelLoader.config(dense).numLayers();
            Map<String, Integer> levels = new TreeMap<>();
            boolean[] dropA = new boolean[blocks];
            boolean[] dropM = new boolean[blocks];
            VariantSource source = null;
            for (Iterator<Map.Entry<String, JsonNode>> it = entry.get("profile").properties().iterator(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (domain.equals("depth")) {
                    Matcher m = HALF.matcher(e.getKey());
                    if (!m.matches() || Integer.parseInt(m.group(1)) >= blocks) {
                        throw new EvocompressException(resultFile + ": '" + e.getKey() + "' is not a block of " + model);
                    }
                    int b = Integer.parseInt(m.group(1));
                    boolean dropped = e.getValue().asInt() != 0;
                    if (m.group(3) == null || m.group(3).equals("self_attn")) {
                        dropA[b] |= dropped;
                    }
                    if (m.group(3) == null || m.group(3).equals("mlp")) {
                        dropM[b] |= dropped;
                    }
                } else {
                    levels.put(e.getKey(), e.getValue().asInt());
                }
            }
            VariantDatabase database = null;
            if (!domain.equals("depth")) {
                String db = result.path("database").path("path").asText(null);
                if (db == null) {
                    throw new EvocompressException(resultFile + " names no database; rerun the search.");
                }
                database = VariantDatabase.open(db);
                source = database;
            }
            if (profileFile != null) {
                Path pf = HadoopFiles.path(profileFile);
                String text = HadoopFiles.readUtf8(HadoopFiles.fileSystem(pf, HadoopFiles.defaultConf()), pf,
                    "EvoPress profile file (--profile-file)");
                if (domain.equals("depth")) {
                    boolean[][] flags = EvoPressProfile.depthFlags(blocks, false, text, profileFile);
                    dropA = flags[0];
                    dropM = flags[1];
                } else {
                    Map<String, int[]> legal = new TreeMap<>();
                    for (String layer : levels.keySet()) {
                        legal.put(layer, database.manifest().layer(layer).levels().stream()
                            .mapToInt(l -> l.level()).toArray());
                    }
                    levels = new TreeMap<>(EvoPressProfile.levels(text, profileFile, legal));
                }
            }
            StitchedCheckpoint.Format requested = request.format();
            for (String name : dense.tensorFiles().keySet()) {
                denseFp16 += 2 * dense.info(name).numel();
            }
            int total = dense.tensorFiles().size();
            progress.accept(String.format(Locale.ROOT, "exporting profile '%s' (%s) of %s to %s in %s",
                profileFile != null ? profileFile : which, domain, model, out, dtype));
            summary = StitchedCheckpoint.write(dense, source, new StitchedCheckpoint.Profile(levels, dropA, dropM), fs, out,
                dtype, request.overwrite(), requested, i -> {
                    if (i % 50 == 0 || i == total) {
                        progress.accept(i + "/" + total + " tensors");
                    }
                });
        }
        long bytes = 0;
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(out)) {
            if (st.getPath().getName().endsWith(".safetensors")) {
                bytes += st.getLen();
            }
        }
        return new Outcome(out, profileFile != null ? profileFile : which, domain, summary, bytes, denseFp16);
    }

    private static Iterable<String> iterable(Iterator<String> it) {
        return () -> it;
    }
}
