// The overview's bar chart: collected and commission by month, from the page's JSON.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("commission-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(document.getElementById("commission-chart-data").textContent);
  const labels = data.labels;
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.months,
      datasets: [
        { label: labels.collected, data: data.collected.map(Number), backgroundColor: "#0d6efd" },
        { label: labels.commission, data: data.commission.map(Number), backgroundColor: "#198754" },
      ],
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
  });
});
