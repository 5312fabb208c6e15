package io.evocompress.calibrate;

import io.evocompress.EvocompressException;
import io.evocompress.calibration.HessianFile;
import io.evocompress.calibration.PartialStatistics;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.AtomicFile;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileNotFoundException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Hessian files ({@link HessianFile}) on a Hadoop file system, streamed: written under a temporary name
 * and renamed ({@link AtomicFile}), read and SHA-256-hashed one buffer at a time, so that no step holds a
 * file in one Java array (a 57,344-input Hessian is 26 GB in float64, 13 GB in float32).
 */
final class HessianFiles {
    private static final int BUFFER = 1 << 20;

    private HessianFiles() {
    }

    /** Writes one file atomically with {@code body}; returns its entry (name relative to hessians/, size, SHA-256). */
    static VariantStore.StoredFile write(FileSystem fs, Path file, String name, AtomicFile.Body body) {
        MessageDigest digest = sha256();
        long[] bytes = {0};
        AtomicFile.write(fs, file, out -> {
            OutputStream sink = new BufferedOutputStream(new DigestOutputStream(new CountingSink(out, bytes), digest), BUFFER);
            body.writeTo(sink);
            sink.flush();
        });
        return new VariantStore.StoredFile(name, bytes[0], HexFormat.of().formatHex(digest.digest()));
    }

    /** Writes {@code stats} to {@code file} (H in float32 with {@code float32}). */
    static VariantStore.StoredFile write(FileSystem fs, Path file, String name, PartialStatistics stats, boolean float32) {
        return write(fs, file, name, out -> HessianFile.write(stats, float32, out));
    }

    /**
     * Reads one file; with {@code sha256} (not null) checks the bytes read against it, and a mismatch names
     * the file and says to rebuild the Hessians ({@code what}).
     */
    static PartialStatistics read(FileSystem fs, Path file, String sha256, String what) {
        MessageDigest digest = sha256();
        try (InputStream raw = open(fs, file);
             DigestInputStream in = new DigestInputStream(new BufferedInputStream(raw, BUFFER), digest)) {
            long length = fs.getFileStatus(file).getLen();
            PartialStatistics stats;
            try {
                stats = HessianFile.read(in, length, file.toString());
            } catch (EvocompressException e) {
                // a damaged file: say so against the index when the index disagrees with its bytes
                if (sha256 != null && !sha256.equals(drain(in, digest))) {
                    throw new EvocompressException(what, e);
                }
                throw e;
            }
            if (sha256 != null && !sha256.equals(HexFormat.of().formatHex(digest.digest()))) {
                throw new EvocompressException(what);
            }
            return stats;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + " (rerun build-db to rebuild the Hessians)", e);
        }
    }

    /** Combines the shards' files {@code parts} (in shard order) into {@code file}, one row block at a time. */
    static VariantStore.StoredFile combine(FileSystem fs, List<Path> parts, Path file, String name, boolean float32) {
        return write(fs, file, name, out -> {
            List<InputStream> in = new ArrayList<>();
            List<String> where = new ArrayList<>();
            long[] lengths = new long[parts.size()];
            try {
                for (int i = 0; i < parts.size(); i++) {
                    in.add(new BufferedInputStream(open(fs, parts.get(i)), BUFFER));
                    where.add(parts.get(i).toString());
                    lengths[i] = fs.getFileStatus(parts.get(i)).getLen();
                }
                HessianFile.combine(in, where, lengths, float32, out);
            } finally {
                for (InputStream s : in) {
                    s.close();
                }
            }
        });
    }

    /** SHA-256 and size of a file, read as a stream. */
    static VariantStore.StoredFile hash(FileSystem fs, Path file, String name) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = open(fs, file)) {
            byte[] buffer = new byte[BUFFER];
            long bytes = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                bytes += n;
            }
            return new VariantStore.StoredFile(name, bytes, HexFormat.of().formatHex(digest.digest()));
        }
    }

    private static InputStream open(FileSystem fs, Path file) throws IOException {
        try {
            return fs.open(file);
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Hessian file " + file + " is missing: rerun build-db to rebuild it.", e);
        }
    }

    private static String drain(DigestInputStream in, MessageDigest digest) throws IOException {
        byte[] buffer = new byte[BUFFER];
        while (in.read(buffer) > 0) {
            // the digest takes every byte read
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Passes bytes on and counts them. */
    private static final class CountingSink extends FilterOutputStream {
        private final long[] count;

        CountingSink(OutputStream out, long[] count) {
            super(out);
            this.count = count;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count[0] += len;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count[0]++;
        }
    }
}
