package io.evocompress.database;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.checkpoint.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * A SHA-256 over a checkpoint's weights, cheap enough to compute on the driver of every run for a
 * checkpoint of hundreds of GB, so that a variant database (and its Hessians) built from other weights
 * with the same config.json is never reused. Per tensor, in name order: its full name (the same for a
 * checkpoint saved without the base model's prefix, {@link io.evocompress.checkpoint.TensorNaming}, which
 * holds the same weights and so shares its databases), dtype, shape and
 * byte length (what the safetensors headers say, offsets aside), then its bytes: all of them for
 * tensors up to {@link #WHOLE_BYTES}, otherwise {@link #WINDOWS} windows of {@link #WINDOW_BYTES}
 * spread evenly from its first byte to its last. A 352 GB checkpoint of a few thousand tensors costs
 * a few hundred MB of reads; a change that touches any window (a fine-tune changes nearly every value
 * of the tensors it trains) changes the fingerprint, and so does any tensor added, removed, renamed,
 * retyped or reshaped. A change confined to bytes between the windows of a large tensor is not seen.
 */
public final class WeightsFingerprint {
    public static final int WHOLE_BYTES = 64 * 1024;
    public static final int WINDOWS = 16;
    public static final int WINDOW_BYTES = 4096;

    private WeightsFingerprint() {
    }

    public static String of(CheckpointReader checkpoint) {
        MessageDigest md = VariantStore.newSha256();
        Map<String, SafetensorsFile> sorted = new TreeMap<>(checkpoint.tensorFiles());
        for (Map.Entry<String, SafetensorsFile> e : sorted.entrySet()) {
            SafetensorsFile file = e.getValue();
            TensorInfo t = checkpoint.info(e.getKey());
            md.update((e.getKey() + "\u0000" + t.dtype() + "\u0000" + t.shapeString() + "\u0000" + t.byteLength() + "\n")
                .getBytes(StandardCharsets.UTF_8));
            long length = t.byteLength();
            if (length <= WHOLE_BYTES) {
                md.update(file.readRaw(t, 0, (int) length));
                continue;
            }
            for (int w = 0; w < WINDOWS; w++) {
                long offset = (length - WINDOW_BYTES) * w / (WINDOWS - 1);
                ByteBuffer window = file.readRaw(t, offset, WINDOW_BYTES);
                md.update(window);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
