package io.evocompress.database;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.model.TensorLayout;

import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The full SHA-256 of each dense checkpoint tensor a database task reads, computed over its bytes as
 * stored while they are read (no second read), and checked against the hashes a database recorded
 * when it was built ({@link VariantStore.LayerRecord#tensorSha256}). The {@link WeightsFingerprint}
 * in the database id samples windows of large tensors; these hashes see any change to a tensor a
 * task reads again: a layer rebuilt on resume, {@code schedule}'s layers compressed against a reused
 * database, and the dense model search's candidate workers load ({@link DenseTensorCheck}). The
 * tensors no build task reads (embeddings, norms, biases, {@code lm_head}) are hashed whole once when
 * the build writes its manifest ({@link #unrecorded}).
 */
public final class TensorHashes {
    private TensorHashes() {
    }

    /**
     * A unit's weight, and the SHA-256 (hex) of each checkpoint tensor read for it, by checkpoint name:
     * the tensor itself, or the fused tensor that holds it.
     */
    public record Read(float[] values, Map<String, String> sha256) {
    }

    /** {@link TensorLayout#readUnit(CheckpointReader, String)}, each checkpoint tensor hashed as it is read. */
    public static Read readUnit(CheckpointReader checkpoint, String unitTensor) {
        TreeMap<String, String> hashes = new TreeMap<>();
        float[] values = TensorLayout.readUnit(checkpoint, unitTensor, name -> {
            MessageDigest md = VariantStore.newSha256();
            float[] v = checkpoint.readFloat(name, md);
            hashes.put(name, HexFormat.of().formatHex(md.digest()));
            return v;
        });
        return new Read(values, Collections.unmodifiableMap(hashes));
    }

    /**
     * Fails when a tensor read has another SHA-256 than the database recorded for it, naming the
     * tensor, its checkpoint file and the database, and saying what to do. Tensors the database
     * recorded no hash for (older databases, layers not built yet) pass.
     *
     * @param read     {@link Read#sha256} of what the task read
     * @param recorded checkpoint tensor name to SHA-256, from the database's layer records (may be empty)
     * @param database the database's location, for the message
     */
    public static void verify(Map<String, String> read, Map<String, String> recorded, CheckpointReader checkpoint,
                              String database) {
        for (Map.Entry<String, String> e : read.entrySet()) {
            String expected = recorded.get(e.getKey());
            if (expected != null && !expected.equals(e.getValue())) {
                throw new EvocompressException("Tensor '" + e.getKey() + "' of " + checkpoint.file(e.getKey()).path()
                    + " has SHA-256 " + e.getValue().substring(0, 16) + "..., but the database " + database
                    + " was built from that tensor with SHA-256 " + expected.substring(0, 16) + "...: the model's weights "
                    + "changed since the database was built, in bytes its weights fingerprint does not sample. Delete "
                    + database + " to rebuild it from these weights, or point the database elsewhere (build-db: output; "
                    + "search, schedule and darwin: database.path).");
            }
        }
    }

    /** Bytes hashed per read by {@link #unrecorded}. */
    private static final int CHUNK_BYTES = 16 << 20;

    /**
     * The full SHA-256 (hex) of the stored bytes of every checkpoint tensor not in {@code recorded}, by
     * name: what no build task reads (embeddings, norms, biases, {@code lm_head}), hashed once on the
     * driver when a build writes its manifest ({@link DatabaseManifest.Model#otherTensorSha256}), in
     * chunks of {@value #CHUNK_BYTES} bytes.
     */
    public static TreeMap<String, String> unrecorded(CheckpointReader checkpoint, Map<String, String> recorded) {
        TreeMap<String, String> out = new TreeMap<>();
        for (Map.Entry<String, io.evocompress.checkpoint.SafetensorsFile> e
                : new TreeMap<>(checkpoint.tensorFiles()).entrySet()) {
            if (recorded.containsKey(e.getKey())) {
                continue;
            }
            out.put(e.getKey(), sha256(checkpoint, e.getKey()));
        }
        return out;
    }

    /**
     * The SHA-256 (hex) of a checkpoint tensor's stored bytes, read in chunks of {@value #CHUNK_BYTES} bytes
     * (a tensor of any size: BLOOM-176B's 7.2 GB embedding too).
     */
    public static String sha256(CheckpointReader checkpoint, String name) {
        io.evocompress.checkpoint.TensorInfo t = checkpoint.info(name);
        io.evocompress.checkpoint.SafetensorsFile file = checkpoint.file(name);
        MessageDigest md = VariantStore.newSha256();
        for (long at = 0; at < t.byteLength(); at += CHUNK_BYTES) {
            md.update(file.readRaw(t, at, (int) Math.min(CHUNK_BYTES, t.byteLength() - at)));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The recorded hashes of every layer record given (records without them add nothing). */
    public static java.util.HashMap<String, String> recorded(Iterable<VariantStore.LayerRecord> records) {
        java.util.HashMap<String, String> out = new java.util.HashMap<>();
        for (VariantStore.LayerRecord r : records) {
            if (r != null && r.tensorSha256() != null) {
                r.tensorSha256().forEach(out::putIfAbsent);
            }
        }
        return out;
    }
}
