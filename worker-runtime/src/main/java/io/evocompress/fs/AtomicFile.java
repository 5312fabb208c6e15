package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;

/**
 * Writes one file atomically on any Hadoop file system: the bytes go to a temporary sibling
 * ({@code .NAME.tmp-UUID}), which is renamed onto the target, so a reader never sees a half-written
 * file under the real name.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    public static void write(FileSystem fs, Path target, byte[] bytes) {
        write(fs, target, out -> out.write(bytes));
    }

    /** What a streamed file's writer does: writes the whole file to {@code out} (closed by {@link #write}). */
    @FunctionalInterface
    public interface Body {
        void writeTo(java.io.OutputStream out) throws IOException;
    }

    /**
     * As {@link #write(FileSystem, Path, byte[])} for a file written as a stream (one larger than a Java
     * array, such as a wide layer's Hessian): {@code body} writes it under the temporary name.
     */
    public static void write(FileSystem fs, Path target, Body body) {
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(target.getParent());
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                body.writeTo(out);
            } catch (IOException | RuntimeException e) {
                fs.delete(tmp, false);
                throw e;
            }
            if (fs.exists(target)) {
                fs.delete(target, false);
            }
            if (!fs.rename(tmp, target)) {
                throw new EvocompressException("Could not rename " + tmp + " to " + target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + target, e);
        }
    }
}
