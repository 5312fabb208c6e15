package io.evocompress.checkpoint;

/**
 * One tensor's entry in a safetensors header: its dtype, shape and byte range inside the data
 * section (the bytes after the header).
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    public String shapeString() {
        return java.util.Arrays.toString(shape);
    }
}
