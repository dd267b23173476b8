"""`make bench`: run every benchmark; results go to bench/results/."""

from bench import (
    bench_api_schemas,
    bench_banners,
    bench_beat,
    bench_codes,
    bench_reminders,
    bench_replicated_gate,
    bench_sale_page,
    bench_seckill,
    bench_task_history,
    bench_tasks,
)

if __name__ == "__main__":
    bench_codes.main()
    bench_banners.main()
    bench_sale_page.main()
    bench_seckill.main()
    bench_replicated_gate.main()
    bench_tasks.main()
    bench_task_history.main()
    bench_reminders.main()
    bench_beat.main()
    bench_api_schemas.main()
