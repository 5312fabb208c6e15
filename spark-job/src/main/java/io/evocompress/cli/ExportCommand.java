package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code evocompress export --result DIR --out URI}: the searched profile as a Hugging Face checkpoint. */
public final class ExportCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();
    // a block half of a depth profile: <the family's block stem>.<block>[.self_attn|.mlp]
    private static final Pattern HALF = Pattern.compile("^.+\\.(\\d+)(\\.(self_attn|mlp))?$");

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "write a search or schedule result (or a baseline) as a compressed Hugging Face checkpoint";
    }

    @Override
    public Set<String> options() {
        return Set.of("result", "out", "dtype", "profile", "weights", "format", "profile-file");
    }

    @Override
    public Set<String> flags() {
        return Set.of("overwrite");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress export --result DIR --out URI [--profile result|BASELINE] [--dtype f16|bf16|f32]
                                      [--format compressed-tensors|dense] [--profile-file F] [--overwrite]

            Stitches the profile in DIR/result.json from the dense model and the variant database it was
            searched on, and writes a checkpoint in the Hugging Face layout (config.json, model.safetensors,
            tokenizer files) that `evocompress eval` and standard tools load. Quantized variants are written
            dequantized in --dtype (default f16). Depth profiles: blocks with both halves dropped are removed
            (num_hidden_layers lowered); a dropped half keeps its block with that half's output projection
            zeroed, so it passes its input through the residual. The output is written under a temporary
            name and renamed into place.

              --profile   result (default) or the name of a baseline in result.json (uniform, owl, ...)
              --profile-file F  a profile in the EvoPress reference code's format instead (what search writes
                          as evopress-profile.txt): '<module>: <level>' lines (sparsity: the database's integer
                          level; bits: the width), or for depth one line per block, none|attn|mlp|attn+mlp;
                          the model and database are DIR/result.json's. A line naming an unknown module or a
                          level the database lacks is an error naming the line.
              --format    compressed-tensors (default when the profile has quantized variants): every quantized
                          layer (2..8 bits) in compressed-tensors pack-quantized, the layout vLLM and transformers
                          load (weight_packed I32, weight_scale in --dtype, weight_zero_point I32, weight_shape; one
                          config_groups entry per bits/strategy; lm_head and dense layers in ignore). A layer whose
                          input width is not a multiple of its group, or whose group is not 32, 64 or 128, is
                          requantized per channel (listed as per_channel_fallback: it no longer equals the scored
                          layer). dense: quantized variants dequantized in --dtype (the only format for sparse-only
                          and depth results). evocompress-int4: the project's older 4-bit layout.
              --weights   dense | packed: the older spelling of --format dense | evocompress-int4.
            Prints checkpoint_bytes (the .safetensors files written) and dense_fp16_bytes (every dense tensor at 2 bytes).

            Example:
              deploy/evocompress export --result target/runs/evopress-sparsity-70 --out target/models/stories-70
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) throws IOException {
        String resultDir = args.required("result");
        Path resultFile = new Path(HadoopFiles.path(resultDir), "result.json");
        FileSystem rfs = HadoopFiles.fileSystem(resultFile, HadoopFiles.defaultConf());
        JsonNode result;
        try {
            result = JSON.readTree(HadoopFiles.readUtf8(rfs, resultFile, "search result (run search first)"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new EvocompressException(resultFile + " is not valid JSON (truncated or edited? "
                + e.getOriginalMessage() + "): run the search again, or with --resume if it was killed.", e);
        }
        String which = args.getOr("profile", "result");
        String profileFile = args.get("profile-file").orElse(null);
        if (profileFile != null && args.get("profile").isPresent()) {
            throw new Args.UsageException("give either --profile or --profile-file, not both");
        }
        JsonNode entry = which.equals("result") ? result.path("result") : result.path("baselines").path(which);
        if (entry.isMissingNode() || !entry.has("profile")) {
            throw new EvocompressException(resultFile + " has no profile '" + which + "' (profiles: result, "
                + String.join(", ", iterable(result.path("baselines").fieldNames())) + ")");
        }
        String model = result.path("model").asText();
        String domain = result.path("domain").asText();
        DType dtype = DType.parseFloating(args.getOr("dtype", "f16"));
        Path out = HadoopFiles.path(args.required("out"));
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
            StitchedCheckpoint.Format requested = format(args);
            for (String name : dense.tensorFiles().keySet()) {
                denseFp16 += 2 * dense.info(name).numel();
            }
            int total = dense.tensorFiles().size();
            console.progress("exporting profile '%s' (%s) of %s to %s in %s", profileFile != null ? profileFile : which,
                domain, model, out, dtype);
            summary = StitchedCheckpoint.write(dense, source, new StitchedCheckpoint.Profile(levels, dropA, dropM), fs, out,
                dtype, args.flag("overwrite"), requested, i -> {
                    if (i % 50 == 0 || i == total) {
                        console.progress("%d/%d tensors", i, total);
                    }
                });
        }
        ObjectNode r = Main.newResult(name());
        r.put("output", out.toString());
        r.put("profile", profileFile != null ? profileFile : which);
        r.put("domain", domain);
        long bytes = 0;
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(out)) {
            if (st.getPath().getName().endsWith(".safetensors")) {
                bytes += st.getLen();
            }
        }
        boolean packed = summary.format() != StitchedCheckpoint.Format.DENSE;
        r.put("weights", packed ? "packed" : "dense");
        r.put("format", summary.format().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        if (!summary.packed().isEmpty()) {
            ObjectNode groups = r.putObject("config_groups");
            for (var e : count(summary.packed()).entrySet()) {
                groups.put(e.getKey(), e.getValue());
            }
            r.putPOJO("per_channel_fallback", summary.perChannel());
            if (!summary.perChannel().isEmpty()) {
                console.progress("%d layer(s) requantized per channel (input width not a multiple of a vLLM group of "
                    + "32/64/128), no longer equal to the scored layers: %s", summary.perChannel().size(),
                    String.join(", ", summary.perChannel()));
            }
        }
        r.put("checkpoint_bytes", bytes);
        r.put("dense_fp16_bytes", denseFp16);
        r.put("size_ratio", (double) bytes / denseFp16);
        r.put("seconds", console.elapsedSeconds());
        return r;
    }

    /** --format, or --weights in its older spelling; null for the default (decided by the profile). */
    private static StitchedCheckpoint.Format format(Args args) {
        if (args.get("format").isPresent() && args.get("weights").isPresent()) {
            throw new Args.UsageException("give either --format or --weights, not both");
        }
        if (args.get("weights").isPresent()) {
            return switch (args.get("weights").get()) {
                case "dense" -> StitchedCheckpoint.Format.DENSE;
                case "packed" -> StitchedCheckpoint.Format.EVOCOMPRESS_INT4;
                default -> throw new Args.UsageException("--weights must be dense or packed, but was '"
                    + args.get("weights").get() + "'");
            };
        }
        String f = args.getOr("format", "compressed-tensors");
        return switch (f) {
            case "compressed-tensors" -> StitchedCheckpoint.Format.COMPRESSED_TENSORS;
            case "dense" -> StitchedCheckpoint.Format.DENSE;
            case "evocompress-int4" -> StitchedCheckpoint.Format.EVOCOMPRESS_INT4;
            default -> throw new Args.UsageException("--format must be compressed-tensors, dense or evocompress-int4, but was '"
                + f + "'");
        };
    }

    /** "4-bit group 64" -> layers, for the summary. */
    private static Map<String, Integer> count(Map<String, io.evocompress.checkpoint.PackQuantized.Scheme> packed) {
        Map<String, Integer> n = new TreeMap<>();
        for (var s : packed.values()) {
            String key = s.bits() + "-bit " + (s.groupSize() == 0 ? "channel" : "group " + s.groupSize())
                + (s.symmetric() ? " symmetric" : "");
            n.merge(key, 1, Integer::sum);
        }
        return n;
    }

    private static Iterable<String> iterable(Iterator<String> it) {
        return () -> it;
    }
}
