package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Products with a lower triangular factor (zeros above the diagonal) that do about half the flops of
 * the full matmul: the BLAS trmm and syrk shapes, written as a recursion on halves whose only O(k^3)
 * work is engine matmuls of the off-diagonal blocks. Below {@code tile} columns a block is multiplied
 * whole (its zero triangle included), so a product of size k does k^3 (1 + tile / k) / 2 flops-ish
 * instead of k^3, in O(k / tile) engine calls.
 *
 * <p>Every result belongs to the given manager; intermediates are closed before returning. Inputs
 * may be views (slices) of larger arrays and are not modified.
 */
final class TriangularProducts {
    private TriangularProducts() {
    }

    /** X T for X (m, k) and T (k, k) lower triangular. */
    static NDArray timesLower(NDArray x, NDArray t, int tile, NDManager out) {
        int k = (int) t.getShape().get(0);
        if (k <= tile) {
            return attach(x.matMul(t), out);
        }
        int k1 = split(k, tile);
        try (NDManager scope = out.newSubManager()) {
            // [X1 X2] [T11 0; T21 T22] = [X1 T11 + X2 T21, X2 T22]
            NDArray x1 = columns(x, 0, k1, scope);
            NDArray x2 = columns(x, k1, k, scope);
            NDArray left = timesLower(x1, block(t, 0, k1, 0, k1, scope), tile, scope);
            left.addi(x2.matMul(block(t, k1, k, 0, k1, scope)));
            NDArray right = timesLower(x2, block(t, k1, k, k1, k, scope), tile, scope);
            return attach(left.concat(right, 1), out);
        }
    }

    /** X T^T for X (m, k) and T (k, k) lower triangular. */
    static NDArray timesLowerTransposed(NDArray x, NDArray t, int tile, NDManager out) {
        int k = (int) t.getShape().get(0);
        if (k <= tile) {
            return attach(x.matMul(t.transpose()), out);
        }
        int k1 = split(k, tile);
        try (NDManager scope = out.newSubManager()) {
            // [X1 X2] [T11^T T21^T; 0 T22^T] = [X1 T11^T, X1 T21^T + X2 T22^T]
            NDArray x1 = columns(x, 0, k1, scope);
            NDArray x2 = columns(x, k1, k, scope);
            NDArray left = timesLowerTransposed(x1, block(t, 0, k1, 0, k1, scope), tile, scope);
            NDArray right = timesLowerTransposed(x2, block(t, k1, k, k1, k, scope), tile, scope);
            right.addi(x1.matMul(block(t, k1, k, 0, k1, scope).transpose()));
            return attach(left.concat(right, 1), out);
        }
    }

    /** T Y for T (k, k) lower triangular and Y (k, m). */
    static NDArray lowerTimes(NDArray t, NDArray y, int tile, NDManager out) {
        int k = (int) t.getShape().get(0);
        if (k <= tile) {
            return attach(t.matMul(y), out);
        }
        int k1 = split(k, tile);
        try (NDManager scope = out.newSubManager()) {
            // [T11 0; T21 T22] [Y1; Y2] = [T11 Y1; T21 Y1 + T22 Y2]
            NDArray y1 = rows(y, 0, k1, scope);
            NDArray y2 = rows(y, k1, k, scope);
            NDArray top = lowerTimes(block(t, 0, k1, 0, k1, scope), y1, tile, scope);
            NDArray bottom = lowerTimes(block(t, k1, k, k1, k, scope), y2, tile, scope);
            bottom.addi(block(t, k1, k, 0, k1, scope).matMul(y1));
            return attach(top.concat(bottom, 0), out);
        }
    }

    /**
     * The lower triangle of C - X X^T for C (m, m) symmetric (only its lower triangle is read) and X
     * (m, k); above the diagonal the result holds zeros, except inside diagonal tiles, which are
     * computed whole.
     */
    static NDArray lowerMinusGram(NDArray c, NDArray x, int tile, NDManager out) {
        int m = (int) c.getShape().get(0);
        if (m <= tile) {
            return attach(c.sub(x.matMul(x.transpose())), out);
        }
        int m1 = split(m, tile);
        try (NDManager scope = out.newSubManager()) {
            // [C11 .; C21 C22] - [X1; X2] [X1^T X2^T]: the lower blocks C11 - X1 X1^T, C21 - X2 X1^T, C22 - X2 X2^T
            NDArray x1 = rows(x, 0, m1, scope);
            NDArray x2 = rows(x, m1, m, scope);
            NDArray s11 = lowerMinusGram(block(c, 0, m1, 0, m1, scope), x1, tile, scope);
            NDArray s21 = block(c, m1, m, 0, m1, scope).sub(x2.matMul(x1.transpose()));
            NDArray s22 = lowerMinusGram(block(c, m1, m, m1, m, scope), x2, tile, scope);
            NDArray top = s11.concat(scope.zeros(new Shape(m1, m - m1), DataType.FLOAT32), 1);
            return attach(top.concat(s21.concat(s22, 1), 0), out);
        }
    }

    /** The first half's size: half of k rounded up to a multiple of the tile, at most k - 1. */
    static int split(int k, int tile) {
        int half = (k / 2 + tile - 1) / tile * tile;
        return Math.min(half, k - 1);
    }

    static NDArray block(NDArray a, int r0, int r1, int c0, int c1, NDManager scope) {
        return a.get(scope, new NDIndex(r0 + ":" + r1 + ", " + c0 + ":" + c1));
    }

    private static NDArray rows(NDArray a, int r0, int r1, NDManager scope) {
        return a.get(scope, new NDIndex(r0 + ":" + r1 + ", :"));
    }

    private static NDArray columns(NDArray a, int c0, int c1, NDManager scope) {
        return a.get(scope, new NDIndex(":, " + c0 + ":" + c1));
    }

    private static NDArray attach(NDArray result, NDManager out) {
        result.attach(out);
        return result;
    }
}
