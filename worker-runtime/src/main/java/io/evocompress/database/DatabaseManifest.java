package io.evocompress.database;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The record of a finished variant database, written last, atomically, at {@code <root>/manifest.json}:
 * what it was built from (model, calibration data, compressor settings, each with a hash), the
 * database id (the hash of those three, the weights' {@link WeightsFingerprint} and the shard count), every layer with its levels (sparsity or
 * bits, error estimate, file, bytes, SHA-256) and its dense output energy (null in databases built
 * before it was recorded), and the size per level against the dense fp16 layout.
 * It records no output location, so a database can be moved or copied between file systems.
 *
 * @param formatVersion {@link #FORMAT_VERSION}
 * @param databaseId    SHA-256 of model config hash, weights fingerprint, token ids hash, shards and compressor hash
 * @param domain        "sparsity" or "bits"
 * @param compressor    {@link CompressorSettings#toJson()}
 * @param layers        in model order (block, then q, k, v, o, gate, up, down)
 */
public record DatabaseManifest(int formatVersion, String databaseId, String domain, Model model, Calibration calibration,
                               JsonNode compressor, String compressorHash, List<VariantStore.LayerRecord> layers,
                               Totals totals) {

    public static final int FORMAT_VERSION = 1;

    /**
     * @param location      as given to build-db; configSha256 the SHA-256 of its config.json
     * @param weightsSha256 {@link WeightsFingerprint} of its weights (null in databases built before it was recorded)
     * @param otherTensorSha256 the full SHA-256 of every checkpoint tensor no layer record holds a hash for
     *                      (embeddings, norms, biases, {@code lm_head}; {@link TensorHashes#unrecorded}), by name:
     *                      null in databases built before it was recorded
     */
    public record Model(String location, String configSha256, String modelType, int blocks, int hiddenSize,
                        String weightsSha256, java.util.Map<String, String> otherTensorSha256) {
    }

    /**
     * @param data           the calibration text as given
     * @param tokenIdsSha256 SHA-256 of the calibration sequences' token ids actually used
     * @param shards         the fixed number of shards the Hessians were summed in
     */
    public record Calibration(String data, String tokenIdsSha256, int sequences, int seqLen, long seed, int shards) {
    }

    /** @param levels bytes of every layer's file at each level (layers lacking a level are counted in {@code layers}) */
    public record Totals(long denseFp16Bytes, int layers, int variants, List<LevelTotal> levels) {
    }

    /** @param fractionOfDense bytes / bytes of those layers in dense fp16 */
    public record LevelTotal(int level, int layers, long bytes, long denseFp16Bytes, double fractionOfDense) {
    }

    /** The database id: SHA-256 over the input hashes (config, weights, tokens, compressor) and the shard count. */
    public static String databaseId(String configSha256, String weightsSha256, String tokenIdsSha256, int shards,
                                    String compressorHash) {
        String text = "evocompress-db v" + FORMAT_VERSION + "\nmodel " + configSha256 + "\nweights " + weightsSha256
            + "\ncalibration " + tokenIdsSha256
            + "\nshards " + shards + "\ncompressor " + compressorHash + "\n";
        return VariantStore.sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Totals over the layer records: per level, the bytes of the files and of the same layers dense in fp16. */
    public static Totals totals(List<VariantStore.LayerRecord> layers) {
        long dense = 0;
        int variants = 0;
        TreeMap<Integer, long[]> perLevel = new TreeMap<>();
        for (VariantStore.LayerRecord layer : layers) {
            long layerDense = VariantCodec.denseFp16Bytes(Math.toIntExact(layer.rows()), Math.toIntExact(layer.cols()));
            dense += layerDense;
            for (VariantStore.LayerRecord.Level l : layer.levels()) {
                long[] t = perLevel.computeIfAbsent(l.level(), k -> new long[3]);
                t[0]++;
                t[1] += l.file().bytes();
                t[2] += layerDense;
                variants++;
            }
        }
        List<LevelTotal> levels = new ArrayList<>();
        perLevel.forEach((level, t) -> levels.add(new LevelTotal(level, (int) t[0], t[1], t[2], (double) t[1] / t[2])));
        return new Totals(dense, layers.size(), variants, levels);
    }

    /** The layer's record; an error naming the layer and the database when it has none. */
    public VariantStore.LayerRecord layer(String name) {
        for (VariantStore.LayerRecord l : layers) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw new io.evocompress.EvocompressException("The variant database " + databaseId + " has no layer '" + name
            + "' (layers are named like " + (layers.isEmpty() ? "?" : layers.get(0).name()) + ").");
    }
}
