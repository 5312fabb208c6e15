package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.checkpoint.DType;
import io.evocompress.export.StitchedCheckpoint;
import io.evocompress.exporter.ResultExport;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** {@code evocompress export --result DIR --out URI}: the searched profile as a Hugging Face checkpoint. */
public final class ExportCommand implements Command {
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
        String profileFile = args.get("profile-file").orElse(null);
        if (profileFile != null && args.get("profile").isPresent()) {
            throw new Args.UsageException("give either --profile or --profile-file, not both");
        }
        ResultExport.Outcome o = ResultExport.run(new ResultExport.Request(args.required("result"),
            args.getOr("profile", "result"), profileFile, DType.parseFloating(args.getOr("dtype", "f16")),
            args.required("out"), args.flag("overwrite"), format(args)), line -> console.progress("%s", line));
        ObjectNode r = Main.newResult(name());
        r.put("output", o.out().toString());
        r.put("profile", o.profile());
        r.put("domain", o.domain());
        StitchedCheckpoint.Summary summary = o.summary();
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
        r.put("checkpoint_bytes", o.checkpointBytes());
        r.put("dense_fp16_bytes", o.denseFp16Bytes());
        r.put("size_ratio", (double) o.checkpointBytes() / o.denseFp16Bytes());
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
}
