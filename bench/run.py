"""`make bench`: run every benchmark; results go to bench/results/."""

from bench import bench_banners, bench_codes, bench_seckill

if __name__ == "__main__":
    bench_codes.main()
    bench_banners.main()
    bench_seckill.main()
