// The home page carousel: the banners from /api/banners, one at a time.
(async function () {
  const root = document.getElementById("carousel");
  const slides = root.querySelector(".slides");
  const dots = root.querySelector(".dots");
  const status = root.querySelector(".carousel-status");
  const result = await api("GET", "/api/banners");
  if (result.status !== 200) {
    root.dataset.state = "error";
    status.dataset.kind = "error";
    status.textContent = `Offers could not be loaded: ${errorMessage(result)}`;
    return;
  }
  const banners = result.data.banners;
  status.textContent = "";
  if (banners.length === 0) {
    root.dataset.state = "empty";
    root.hidden = true;  // nothing to show: the page reads as if there were no carousel
    return;
  }
  root.dataset.state = "ready";

  let current = 0;
  banners.forEach((banner, index) => {
    const slide = document.createElement(banner.link_url ? "a" : "div");
    slide.className = "slide";
    slide.dataset.testid = "banner";
    if (banner.link_url) slide.href = banner.link_url;
    slide.setAttribute("aria-roledescription", "slide");
    slide.setAttribute("aria-label", `${index + 1} of ${banners.length}`);
    const image = document.createElement("img");
    image.src = banner.image_url;
    image.alt = banner.title;
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.textContent = banner.title;
    slide.append(image, caption);
    slides.append(slide);

    const dot = document.createElement("button");
    dot.type = "button";
    dot.className = "dot";
    dot.setAttribute("aria-label", `Show banner ${index + 1}: ${banner.title}`);
    dot.addEventListener("click", () => show(index));
    dots.append(dot);
  });

  function show(index) {
    current = (index + banners.length) % banners.length;
    [...slides.children].forEach((slide, i) => { slide.hidden = i !== current; });
    [...dots.children].forEach((dot, i) => dot.setAttribute("aria-current", String(i === current)));
  }

  if (banners.length > 1) {
    const prev = root.querySelector(".prev");
    const next = root.querySelector(".next");
    prev.hidden = next.hidden = false;
    prev.addEventListener("click", () => show(current - 1));
    next.addEventListener("click", () => show(current + 1));
    // Turns every 5 s, except while the pointer or the keyboard is on it.
    let paused = false;
    root.addEventListener("mouseenter", () => { paused = true; });
    root.addEventListener("mouseleave", () => { paused = false; });
    root.addEventListener("focusin", () => { paused = true; });
    root.addEventListener("focusout", () => { paused = false; });
    setInterval(() => { if (!paused) show(current + 1); }, 5000);
  } else {
    dots.hidden = true;
  }
  show(0);
})();
