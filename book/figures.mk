# The book's figures, plotted from the benchmarks' saved output. Included from the root
# Makefile.
#
#   make rt-bench / make ring-bench   run a benchmark; its lines are kept in build/results/
#   make figures                      plot what is kept there into book/src/figures/*.svg
#                                     (gnuplot-nox, installed by make setup); commit them

RESULTS_DIR := build/results
FIGURES_DIR := book/src/figures

.PHONY: figures

figures: ## Plot the saved benchmark results (build/results/*.txt) as SVG into book/src/figures
	bash book/figures.sh $(RESULTS_DIR) $(FIGURES_DIR)
