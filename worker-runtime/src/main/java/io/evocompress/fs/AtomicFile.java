package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;

/**
 * Writes one small file atomically on any Hadoop file system: the bytes go to a temporary sibling
 * ({@code .NAME.tmp-UUID}), which is renamed onto the target, so a reader never sees a half-written
 * file under the real name.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    public static void write(FileSystem fs, Path target, byte[] bytes) {
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(target.getParent());
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                out.write(bytes);
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
