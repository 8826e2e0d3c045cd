"""A corpus of real lab terms in English, Arabic and Hindi (issue 16 point 4):
test names, units and headings as labs print them, for the tests that check
that a report's text extracts as it reads (test_report_extraction.py).

Hindi is the hard case: Devanagari clusters (conjuncts such as "क्र", the
reph in "शर्करा", vowel signs drawn before their consonant as in "कि")
become glyphs that several letter sequences share, so a font's plain
glyph-to-text map cannot give every word back. Arabic joins its letters
(each letter has up to four glyphs, "لا" is one) and reads right to left.
English has the ligatures "fi" and "fl".

`TERMS` maps each language to its terms; `UNITS` are printed the same in
every language (they sit in the unit column of the rendered report).
"""

#: Test names and headings, as each language's labs print them.
TERMS: dict[str, list[str]] = {
    "en": [
        "Haemoglobin", "Fasting blood glucose", "Glycated haemoglobin",
        "Total cholesterol", "Triglycerides", "Creatinine", "Blood urea",
        "Total bilirubin", "Platelet count", "White blood cells",
        "Red blood cells", "Sodium", "Potassium", "Calcium",
        "Thyroid stimulating hormone", "Urinalysis", "Specific gravity",
        "Fibrinogen", "Reflex testing", "Blood group", "Liver function tests",
        "Kidney function tests", "Reference range", "Test name", "Patient",
        "Laboratory report", "Vitamin D", "Prothrombin time", "Total protein",
        "Albumin", "Alkaline phosphatase", "Serum ferritin",
    ],
    "ar": [
        "الهيموغلوبين", "سكر الدم الصائم", "الهيموغلوبين السكري",
        "الكوليسترول الكلي", "الدهون الثلاثية", "الكرياتينين", "يوريا الدم",
        "البيليروبين الكلي", "الصفائح الدموية", "كريات الدم البيضاء",
        "كريات الدم الحمراء", "الصوديوم", "البوتاسيوم", "الكالسيوم",
        "الهرمون المنبه للغدة الدرقية", "تحليل البول", "الوزن النوعي",
        "الفيبرينوجين", "فصيلة الدم", "وظائف الكبد", "وظائف الكلى",
        "المدى المرجعي", "اسم الفحص", "المريض", "تقرير المختبر",
        "فيتامين د", "زمن البروثرومبين", "البروتين الكلي", "الألبومين",
        "الفوسفاتاز القلوية", "فيريتين المصل", "النتيجة",
    ],
    "hi": [
        "हीमोग्लोबिन", "रक्त शर्करा", "उपवास रक्त शर्करा",
        "ग्लाइकेटेड हीमोग्लोबिन", "कुल कोलेस्ट्रॉल", "ट्राइग्लिसराइड",
        "क्रिएटिनिन", "रक्त यूरिया", "कुल बिलीरुबिन", "प्लेटलेट्स",
        "श्वेत रक्त कोशिकाएँ", "लाल रक्त कोशिकाएँ", "सोडियम", "पोटैशियम",
        "कैल्शियम", "थायरॉइड उत्तेजक हार्मोन", "मूत्र परीक्षण",
        "विशिष्ट गुरुत्व", "फाइब्रिनोजेन", "रक्त समूह", "यकृत कार्य परीक्षण",
        "गुर्दा कार्य परीक्षण", "संदर्भ सीमा", "परीक्षण का नाम", "रोगी",
        "प्रयोगशाला रिपोर्ट", "विटामिन डी", "प्रोथ्रोम्बिन समय", "कुल प्रोटीन",
        "एल्ब्यूमिन", "क्षारीय फॉस्फेटेज़", "सीरम फेरिटिन",
    ],
}  # fmt: skip
#: Units, printed as they are in every language.
UNITS = [
    "g/dL", "mg/dL", "mmol/L", "µmol/L", "10^3/µL", "10^6/µL", "mIU/L",
    "U/L", "fL", "pg", "%", "mL/min/1.73m²", "ng/mL", "IU/L",
]  # fmt: skip


def corpus_size() -> int:
    """How many terms the corpus holds, units counted once per language
    (each language's report prints them)."""
    return sum(len(terms) + len(UNITS) for terms in TERMS.values())
