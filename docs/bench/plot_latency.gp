# Delivery latency (job emit -> client receive) against concurrent streams,
# from `analysisctl bench --sweep=... --csv=docs/bench/latency_vs_streams.csv`.
# Run from the repository root: gnuplot docs/bench/plot_latency.gp
set datafile separator ","
set terminal pngcairo size 900,540 font "sans,11"
set output "docs/bench/latency_vs_streams.png"
set title "Event delivery latency vs concurrent watch streams (2 cores, server + PostgreSQL + client)"
set xlabel "concurrent streams (10 watchers per session)"
set ylabel "latency, ms (log scale)"
set logscale xy
set key top left
set grid
set xtics (10, 100, 250, 500, 1000, 2000)
plot "docs/bench/latency_vs_streams.csv" every ::1 using 1:4 with linespoints lw 2 pt 7 title "p50", \
     "" every ::1 using 1:5 with linespoints lw 2 pt 5 title "p99", \
     "" every ::1 using 1:6 with linespoints lw 1 pt 3 title "max", \
     5 with lines dt 2 lc rgb "red" title "p99 target (5 ms at 1,000 streams)"
