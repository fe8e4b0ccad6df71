"""The curated clinical case bank behind the offline template backend.

Each discipline has conditions written as *content*, not finished text: symptoms, a triage level, the
direct answer, key facts paired with a plausible but wrong counterpart, required management elements,
red flags with escalation advice, a correct and a flawed rationale, and the context modifiers that
change the advice (pregnancy, anticoagulants, allergy, age, remote setting...). The template backend
composes prompts and answers from these parts, and the rule judge checks answers against the same
lists, so every degradation is traceable to one named piece of content.

Size matters as much as correctness: with a handful of conditions a reward model can pass held-out
tests by memorising bank sentences. Every discipline therefore has at least five conditions, each
condition's specific sentences occur nowhere else in the bank, and over twenty context modifiers
(age groups, pregnancy and breastfeeding, kidney and liver disease, blood thinners, lithium, allergies,
asthma, insulin, chemotherapy, remote and low-resource settings, polypharmacy, athletes, shift work,
language and literacy needs) vary the advice; ``tests/data/test_casebank.py`` checks all of this. The
``--holdout conditions`` split (runner) keeps whole conditions out of train for a harder test.

Content follows mainstream primary-care guidance (NICE/WHO/AHA-style advice) at patient level; doses
are given only where a widely standard value is part of the advice. It is for synthetic training data,
not for clinical use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Modifier:
    """A stated context detail that changes the right advice.

    ``tailored`` is what a context-aware answer says; ``contradict`` is advice that ignores the
    context in a harmful way (e.g. an NSAID despite pregnancy); ``ask`` is the clarifying question a
    context-seeking answer asks when the detail was left out of the prompt.
    """

    id: str
    statements: tuple[str, ...]
    tailored: str
    contradict: str
    ask: str


@dataclass(frozen=True)
class Condition:
    """One clinical situation of a discipline, as reusable answer content."""

    id: str
    name: str
    symptoms: tuple[str, ...]
    triage: str  # emergency | urgent | routine
    direct: str
    facts: tuple[tuple[str, str], ...]  # (correct, plausible but wrong)
    elements: tuple[str, ...]  # required management elements
    red_flags: tuple[str, ...]
    escalation: str
    rationale: tuple[str, str]  # (sound, flawed)
    differential: str
    modifiers: tuple[str, ...]
    who: str = "self"  # whose symptoms: self | child | carer | event (a full clause starting with the subject)


MODIFIERS: dict[str, Modifier] = {
    m.id: m
    for m in (
        Modifier(
            "pregnancy",
            (
                "I'm {weeks} weeks pregnant",
                "I am pregnant (about {weeks} weeks along)",
                "I'm currently {weeks} weeks into my pregnancy",
            ),
            "Because you are pregnant, avoid ibuprofen, naproxen and other NSAIDs, especially from 20 weeks; paracetamol (acetaminophen) at standard doses is the usual choice, and let your midwife or obstetrician know.",
            "Ibuprofen 400 mg up to three times a day is a good choice for this.",
            "whether you are or could be pregnant, because that changes which pain relievers are safe (NSAIDs such as ibuprofen are avoided in pregnancy)",
        ),
        Modifier(
            "warfarin",
            (
                "I take warfarin for atrial fibrillation",
                "I'm on warfarin",
                "my regular medicine is warfarin, a blood thinner",
            ),
            "Because you take warfarin, avoid ibuprofen, aspirin and other NSAIDs, which raise the bleeding risk, and check any new medicine or supplement with your pharmacist or anticoagulation clinic.",
            "Taking ibuprofen alongside your warfarin is fine for a few days.",
            "whether you take a blood thinner such as warfarin, because common pain relievers like ibuprofen raise the bleeding risk with it",
        ),
        Modifier(
            "ckd",
            (
                "I have chronic kidney disease (stage 3)",
                "my kidneys don't work well - I have stage 3 kidney disease",
                "I was diagnosed with chronic kidney disease",
            ),
            "With chronic kidney disease, avoid NSAIDs such as ibuprofen because they can worsen kidney function; paracetamol is usually preferred, and some medicine doses need adjusting.",
            "Regular ibuprofen is the best option for you.",
            "whether you have any kidney problems, because NSAIDs like ibuprofen can harm weakened kidneys",
        ),
        Modifier(
            "child",
            ("my child is {child_age} years old", "this is about my {child_age}-year-old", "my kid is {child_age}"),
            "For a child this age, never give aspirin because of the risk of Reye's syndrome; use paracetamol or ibuprofen dosed by your child's weight.",
            "Half an adult aspirin tablet is a reasonable dose for a child.",
            "how old the patient is, because medicines and doses differ for children (aspirin, for example, must not be given to children)",
        ),
        Modifier(
            "penicillin_allergy",
            (
                "I'm allergic to penicillin (it gave me hives)",
                "I have a penicillin allergy",
                "penicillin gives me a rash and swelling",
            ),
            "Because of your penicillin allergy, make sure every prescriber knows: amoxicillin and other penicillins must be avoided and a non-penicillin alternative chosen.",
            "Amoxicillin is the usual first choice and you can take it as normal.",
            "whether you have any drug allergies, especially to penicillin, because that decides which antibiotic is safe",
        ),
        Modifier(
            "remote",
            (
                "I live in a rural village about {hours} hours from the nearest hospital",
                "the closest hospital is {hours} hours away by road where I live",
                "I'm in a remote area with only a small health post; the hospital is {hours} hours away",
            ),
            "Because the nearest hospital is far away, arrange transport early rather than waiting until things are severe, and contact your local health worker or clinic today.",
            "If it gets worse you can just pop into the emergency department down the road.",
            "how far you are from a hospital or clinic, because that changes how early you should set off if things get worse",
        ),
        Modifier(
            "elderly",
            ("I'm {old_age} and live alone", "I am {old_age} years old", "I'm an {old_age}-year-old living on my own"),
            "At your age, avoid sedating medicines such as diphenhydramine or sleeping tablets where possible, because they raise the risk of falls and confusion, and arrange for someone to check on you.",
            "A sleeping tablet or a sedating antihistamine at night is a harmless way to help.",
            "your age and whether you live alone, because sedating medicines raise the risk of falls in older people",
        ),
        Modifier(
            "sertraline",
            (
                "I already take sertraline",
                "I've been on sertraline for a year",
                "I take an SSRI (sertraline) every day",
            ),
            "Because you already take sertraline, do not add St John's wort, tramadol or other serotonergic drugs without advice, because of the risk of serotonin syndrome.",
            "St John's wort is a safe natural addition to your sertraline.",
            "which medicines you already take, because some combinations (for example St John's wort with antidepressants) are dangerous",
        ),
        Modifier(
            "breastfeeding",
            ("I'm breastfeeding my {baby_months}-month-old", "I am breastfeeding", "I'm still breastfeeding my baby"),
            "Because you are breastfeeding, tell the pharmacist or doctor before taking any medicine; paracetamol and ibuprofen at standard doses are generally considered suitable, but avoid codeine because it can pass to the baby.",
            "Codeine-based painkillers are a good choice while you are breastfeeding.",
            "whether you are breastfeeding, because some medicines, such as codeine, pass into breast milk and can harm the baby",
        ),
        Modifier(
            "liver",
            ("I have liver cirrhosis", "I was told I have liver damage from alcohol", "I have chronic liver disease"),
            "Because of your liver disease, avoid alcohol and NSAIDs such as ibuprofen, check every new medicine with your pharmacist or doctor, and ask your liver team what paracetamol limit is safe for you.",
            "Your liver makes no difference here, so full doses of any painkiller and a few drinks are fine.",
            "whether you have any liver problems, because the liver clears many medicines and some must be avoided or reduced",
        ),
        Modifier(
            "infant",
            (
                "my baby is {infant_weeks} weeks old",
                "this is about my {infant_weeks}-week-old baby",
                "my newborn is only {infant_weeks} weeks old",
            ),
            "Because your baby is under three months old, a temperature of 38°C or more always needs an urgent same-day medical check, and medicines should only be given on a doctor's or pharmacist's advice.",
            "At this age you can wait a few days to see whether things settle before anyone checks your baby.",
            "how old your baby is, because babies under three months need an urgent check for a temperature of 38°C or more",
        ),
        Modifier(
            "asthma",
            ("I have asthma", "I've had asthma since childhood", "I use inhalers for asthma"),
            "Because you have asthma, keep your reliever inhaler with you, keep taking your preventer, and check with a pharmacist before using ibuprofen or aspirin, which can set off wheezing in some people with asthma.",
            "Ibuprofen is safe for everyone with asthma, and you can stop your preventer inhaler while you are unwell.",
            "whether you have asthma, because ibuprofen and aspirin can trigger wheezing in some people with asthma",
        ),
        Modifier(
            "insulin",
            ("I have type 1 diabetes and use insulin", "I'm on insulin for diabetes", "I inject insulin every day"),
            "Because you use insulin, check your blood sugar more often while you are unwell, never stop your insulin even if you are eating less, and follow your sick-day rules or call your diabetes team for advice.",
            "Stop your insulin until you are eating normally again.",
            "whether you have diabetes or use insulin, because illness changes blood sugar and insulin must never simply be stopped",
        ),
        Modifier(
            "language",
            (
                "English is not my first language, so please use simple words",
                "I don't read well, so please keep it simple",
                "my English is basic - please explain simply",
            ),
            "I have kept this in short, simple sentences; if anything is unclear, ask the clinic for an interpreter or an easy-read leaflet, which many services can arrange.",
            "The full technical guidance document has every detail you need, so read that yourself.",
            "whether you would prefer simpler wording or another language, because an interpreter or an easy-read leaflet can be arranged",
        ),
        Modifier(
            "athlete",
            (
                "I'm a competitive runner",
                "I play football at a high level and train most days",
                "I'm training for a marathon",
            ),
            "As an athlete, pause hard training until this has been assessed and has settled, and build back up gradually with your doctor's agreement rather than pushing through symptoms.",
            "Keep training hard as usual; pushing through symptoms will speed up recovery.",
            "whether you do intense exercise or competitive sport, because training through some symptoms can be dangerous",
        ),
        Modifier(
            "shift_worker",
            ("I work night shifts", "I'm a nurse on rotating night shifts", "I work nights in a warehouse"),
            "Because you work night shifts, ask your pharmacist or doctor how to time medicines, meals and sleep around your shifts, and let someone at work know what to do if you become unwell.",
            "Working nights makes no difference, so there is nothing to adjust or tell anyone at work.",
            "whether you work shifts or nights, because that affects when medicines are taken and how symptoms are managed",
        ),
        Modifier(
            "polypharmacy",
            (
                "I'm {old_age} and take about ten different medicines a day",
                "I take lots of tablets for different conditions",
                "I'm on about eight regular medicines",
            ),
            "Because you take several regular medicines, ask your pharmacist or doctor for a medicines review before adding anything new, including remedies bought over the counter and herbal products, since interactions and side effects such as dizziness and falls are more likely.",
            "Adding another over-the-counter medicine is harmless, however many you already take.",
            "which regular medicines you take, because several medicines together raise the risk of interactions and side effects",
        ),
        Modifier(
            "lithium",
            ("I take lithium for bipolar disorder", "I'm on lithium", "I've been on lithium for years"),
            "Because you take lithium, avoid ibuprofen and other NSAIDs and keep drinking enough fluids, since both NSAIDs and dehydration can raise lithium to toxic levels; ask your team about a lithium blood test if you have vomiting, diarrhoea or a new tremor.",
            "Ibuprofen is fine alongside lithium, and cutting back on fluids will do no harm.",
            "whether you take lithium, because dehydration and some pain relievers can push lithium to toxic levels",
        ),
        Modifier(
            "chemotherapy",
            (
                "I'm having chemotherapy for breast cancer",
                "I'm in the middle of chemotherapy",
                "I had chemotherapy last week",
            ),
            "Because you are having chemotherapy, a temperature of 38°C or above, or suddenly feeling unwell, needs an immediate call to your cancer team's 24-hour line, as infections can become serious very quickly.",
            "A fever during chemotherapy is expected and can be watched at home for a few days.",
            "whether you have a weakened immune system, for example from chemotherapy, because a fever then needs emergency assessment",
        ),
        Modifier(
            "low_resource",
            (
                "the clinic near me often runs out of medicines and there is no lab",
                "I live somewhere with very few doctors and medicines are hard to get",
                "our local health post has no doctor, only a community health worker",
            ),
            "Where doctors and medicines are hard to reach, contact your community health worker or nearest clinic early, keep any medicines and referral notes together, and agree in advance how you would travel to a hospital if warning signs appear.",
            "Wait until you can get to a big city hospital, however long that takes, before speaking to anyone.",
            "what health services are available where you live, because that changes how early and where you should seek help",
        ),
        Modifier(
            "rhesus_negative",
            ("my blood group is rhesus negative", "I'm Rh negative", "I was told my blood group is O negative"),
            "Because your blood group is rhesus negative, make sure the team knows, as you may need an anti-D injection after bleeding in pregnancy.",
            "Your rhesus negative blood group makes no difference to what happens next.",
            "your blood group, because a rhesus-negative mother may need an anti-D injection after bleeding in pregnancy",
        ),
    )
}


def _c(discipline: str, *conditions: Condition) -> tuple[str, tuple[Condition, ...]]:
    return discipline, conditions


CASEBANK: dict[str, tuple[Condition, ...]] = dict(
    (
        _c(
            "internal_medicine",
            Condition(
                "t2dm_hyperglycaemia",
                "high blood sugar in type 2 diabetes",
                (
                    "constant thirst, passing urine a lot and blood sugar readings around 18 mmol/L",
                    "feeling very thirsty and tired with home glucose readings near 300 mg/dL",
                ),
                "urgent",
                "These readings suggest your diabetes is poorly controlled, and you should contact your doctor or diabetes nurse today to review your treatment.",
                (
                    (
                        "Persistently high blood sugar damages blood vessels, nerves, kidneys and eyes over time.",
                        "High blood sugar only matters if you feel unwell; readings alone do no harm.",
                    ),
                    (
                        "An HbA1c test shows your average blood sugar over the past two to three months.",
                        "An HbA1c test shows your blood sugar at the exact moment the sample is taken.",
                    ),
                    (
                        "Drinking water helps, while sugary drinks and fruit juice push glucose higher.",
                        "Fruit juice is a good way to stay hydrated because natural sugar does not raise glucose.",
                    ),
                ),
                (
                    "Check your glucose more often and keep a log of the readings.",
                    "Ask for a medication review with your doctor or diabetes nurse.",
                    "Check for ketones if you have a meter, especially if you feel sick.",
                ),
                (
                    "vomiting and unable to keep fluids down",
                    "confusion, drowsiness or fast deep breathing",
                    "ketones that are moderate or high",
                ),
                "If any of these happen, go to the emergency department or call emergency services straight away.",
                (
                    "Thirst and frequent urination happen because the kidneys pass excess glucose into the urine, taking water with it.",
                    "Thirst and frequent urination happen because you are drinking too much water, which is what raises the glucose.",
                ),
                "an infection or a medicine such as a steroid pushing glucose up",
                ("ckd", "elderly", "remote"),
            ),
            Condition(
                "hypertension_reading",
                "a high blood pressure reading",
                (
                    "a home blood pressure reading of 168/102 with no symptoms",
                    "several blood pressure readings around 160/100 at the pharmacy machine",
                ),
                "routine",
                "A reading this high needs confirming and usually treating, so book an appointment with your doctor within the next week or two rather than ignoring it.",
                (
                    (
                        "High blood pressure usually causes no symptoms, which is why it needs checking.",
                        "High blood pressure always causes headaches, so no headache means it is fine.",
                    ),
                    (
                        "The diagnosis is confirmed with repeated or home/ambulatory readings, not a single measurement.",
                        "A single reading at the pharmacy is enough to confirm the diagnosis.",
                    ),
                    (
                        "Cutting down on salt and alcohol and staying active lower blood pressure.",
                        "Eating more salt helps keep blood pressure stable.",
                    ),
                ),
                (
                    "Take seated home readings twice a day for a week and write them down.",
                    "Book a review with your doctor to discuss the readings and your overall heart risk.",
                    "Bring a list of your current medicines, including any painkillers or decongestants.",
                ),
                (
                    "chest pain or severe shortness of breath",
                    "a sudden severe headache, confusion or vision changes",
                    "weakness or numbness on one side",
                ),
                "If any of these happen together with a very high reading, call emergency services immediately.",
                (
                    "Blood pressure matters because years of high pressure strain the heart, brain and kidneys even without symptoms.",
                    "Blood pressure matters only on the day you feel stressed, so a calm reading later cancels it out.",
                ),
                "a measurement error from a cuff that is the wrong size",
                ("ckd", "elderly", "remote"),
            ),
            Condition(
                "insulin_hypo",
                "a low blood sugar (hypo) on insulin",
                (
                    "shaking, sweating and muddled thinking with a glucose reading of 3.2 mmol/L",
                    "a hypo with a meter reading of 55 mg/dL, trembling and a pounding heart",
                ),
                "urgent",
                "Treat this low blood sugar straight away with a fast-acting sugar such as glucose tablets or a small glass of non-diet fizzy drink, recheck after 15 minutes, and tell your diabetes team about it today.",
                (
                    (
                        "A reading below 4 mmol/L (about 70 mg/dL) counts as a hypo and should be treated even if you feel fine.",
                        "A reading of 3.5 mmol/L is normal as long as you feel well.",
                    ),
                    (
                        "Once the reading is back up, eat a starchy snack or your next meal so the sugar does not drop again.",
                        "Chocolate is the best first treatment for a hypo because it acts fastest.",
                    ),
                    (
                        "Never put food or drink into the mouth of someone who is unconscious; they need glucagon if available and an ambulance.",
                        "If someone with a hypo passes out, pour a sugary drink into their mouth.",
                    ),
                ),
                (
                    "Take fast-acting sugar now, such as four or five glucose tablets.",
                    "Recheck your glucose after 15 minutes and repeat the sugar if it is still below 4.",
                    "Ask your diabetes team to review your insulin doses.",
                ),
                (
                    "drowsiness or confusion that does not improve after sugar",
                    "being unable to swallow safely",
                    "a fit or passing out",
                ),
                "If any of these happen, someone should call emergency services and give glucagon if they have been trained to.",
                (
                    "Insulin keeps lowering glucose until it wears off, which is why a fast sugar must be followed by longer-acting starch.",
                    "Hypos happen because the body stops making sugar at night, so daytime hypos do not need treating.",
                ),
                "a faulty meter reading, so recheck with washed hands",
                ("shift_worker", "athlete", "elderly", "remote"),
            ),
            Condition(
                "gout_flare",
                "a gout attack",
                (
                    "a red, hot, very painful swollen big toe that came on overnight",
                    "sudden severe pain in my big toe joint so bad I can't bear the bedsheet touching it",
                ),
                "urgent",
                "A hot, swollen, very painful big toe joint is most often gout, so see your doctor within a day or two to confirm it and start treatment.",
                (
                    (
                        "Gout is caused by uric acid crystals forming in a joint.",
                        "Gout is caused by a bacterial infection of the joint.",
                    ),
                    (
                        "An ice pack wrapped in a towel and resting the joint can ease a gout attack.",
                        "A hot water bottle on the joint dissolves the gout crystals.",
                    ),
                    (
                        "Cutting down on alcohol, especially beer, and on sugary drinks lowers the risk of further attacks.",
                        "Beer flushes uric acid out of the body and prevents gout attacks.",
                    ),
                ),
                (
                    "Rest the joint and keep it raised.",
                    "Book an appointment with your doctor within a day or two.",
                    "Drink plenty of water through the day.",
                ),
                (
                    "a fever or feeling shivery and unwell",
                    "redness spreading up the foot or leg",
                    "several joints becoming swollen at once",
                ),
                "If any of these happen, get a same-day medical assessment, because a joint infection needs urgent treatment.",
                (
                    "Uric acid crystals in the joint trigger intense inflammation, which explains the sudden heat, redness and pain.",
                    "The pain comes from ordinary wear and tear, which is why it started overnight.",
                ),
                "a joint infection, which is more likely if you have a fever",
                ("ckd", "warfarin", "lithium", "elderly"),
            ),
            Condition(
                "suspected_dvt",
                "a possible blood clot in the leg",
                (
                    "a swollen, aching left calf that feels warm since a long flight three days ago",
                    "pain and swelling in one calf that is clearly bigger than the other",
                ),
                "urgent",
                "One swollen, painful calf can be a blood clot (deep vein thrombosis), so get it checked today at urgent care or by your doctor.",
                (
                    (
                        "A suspected clot in the leg needs a same-day assessment, often with a blood test and an ultrasound scan.",
                        "A swollen calf can safely wait for a routine appointment in a few weeks.",
                    ),
                    (
                        "A clot in a leg vein can break off and travel to the lungs.",
                        "A clot in the leg always dissolves harmlessly on its own.",
                    ),
                    (
                        "Long journeys, recent surgery, pregnancy and the combined pill raise the risk of clots.",
                        "Only elderly people can get blood clots in the legs.",
                    ),
                ),
                (
                    "Get a same-day assessment at urgent care or your doctor's surgery.",
                    "Do not massage the calf.",
                    "Tell the clinician about recent travel, surgery or hormone medicines.",
                ),
                ("sudden breathlessness", "chest pain that is worse when breathing in", "coughing up blood"),
                "These can mean a clot has reached the lungs: call emergency services immediately.",
                (
                    "A clot blocks the vein, so blood backs up behind it and causes swelling, warmth and aching in one leg.",
                    "The swelling is from standing too long, which is why one calf is bigger than the other.",
                ),
                "a calf muscle strain or a burst cyst behind the knee",
                ("pregnancy", "athlete", "remote"),
            ),
        ),
        _c(
            "pediatrics",
            Condition(
                "toddler_fever",
                "fever in a young child",
                (
                    "a temperature of 38.9°C since last night and is a bit grumpy but still drinking",
                    "a fever of 39°C, a runny nose and is off food but playing",
                ),
                "routine",
                "A fever in a child who is drinking, passing urine and still playing can usually be cared for at home, with close watching for warning signs.",
                (
                    (
                        "Fever itself is the body's response to infection and is not harmful in most children.",
                        "A fever above 38.5°C damages the brain, so it must always be brought down immediately.",
                    ),
                    (
                        "Offer regular drinks and watch for wet nappies, because dehydration is the main risk.",
                        "Children with a fever should be kept from drinking so they do not vomit.",
                    ),
                    (
                        "Dress the child in light clothing; do not sponge with cold water.",
                        "Wrap the child in extra blankets to sweat the fever out.",
                    ),
                ),
                (
                    "Give regular fluids and check they are passing urine.",
                    "Use paracetamol or ibuprofen for comfort if the child is distressed, dosed by weight.",
                    "Check on the child during the night.",
                ),
                (
                    "a rash that does not fade when pressed with a glass",
                    "being floppy, very sleepy or hard to wake",
                    "fast or difficult breathing, or no wet nappy for 12 hours",
                ),
                "If you see any of these, call emergency services or go to the emergency department now.",
                (
                    "Watching behaviour and fluids matters more than the number on the thermometer, because they show how unwell the child really is.",
                    "The exact temperature tells you how serious the infection is, so behaviour does not matter.",
                ),
                "a urinary infection, which can cause fever without other symptoms",
                ("child", "remote"),
                "child",
            ),
            Condition(
                "croup",
                "croup",
                (
                    "a barking cough and a hoarse voice that are worse at night",
                    "a seal-like cough and a noisy breath in when crying",
                ),
                "urgent",
                "This sounds like croup, and a child with croup should be seen by a doctor today, who may give a single dose of a steroid such as dexamethasone.",
                (
                    (
                        "Croup is usually caused by a virus, so antibiotics do not help.",
                        "Croup is a bacterial infection that needs a course of antibiotics.",
                    ),
                    (
                        "A single dose of oral dexamethasone reduces airway swelling in croup.",
                        "Cough syrup is the main treatment that shortens croup.",
                    ),
                    (
                        "Keeping the child calm helps, because crying makes the breathing noise worse.",
                        "Making the child cough hard clears the swelling faster.",
                    ),
                ),
                (
                    "Keep your child upright and calm, for example on your lap.",
                    "Arrange for a doctor to see your child today.",
                    "Give fluids and paracetamol for discomfort if needed.",
                ),
                (
                    "noisy breathing at rest, not only when crying",
                    "the skin pulling in between the ribs, or blue or grey lips",
                    "drooling or being unable to swallow",
                ),
                "If any of these occur, call emergency services immediately.",
                (
                    "The barking cough comes from swelling around the voice box and windpipe, which is why calming the child and a steroid help.",
                    "The barking cough comes from mucus in the lungs, which is why coughing it up helps.",
                ),
                "a foreign body in the airway, if symptoms started suddenly while eating or playing",
                ("child", "remote"),
                "child",
            ),
            Condition(
                "infant_fever",
                "a fever in a young baby",
                (
                    "a temperature of 38.2°C and is feeding less than usual",
                    "a thermometer reading of 38.4°C and is sleepier than normal",
                ),
                "emergency",
                "Any temperature of 38°C or above in a baby under three months old needs an urgent medical check today, even if the baby otherwise seems well: contact your doctor urgently or go to the emergency department now.",
                (
                    (
                        "In babies under three months, a temperature of 38°C or more is a warning sign in its own right.",
                        "A fever in a young baby only matters once it goes above 40°C.",
                    ),
                    (
                        "Young babies can have a serious infection while showing very few other signs.",
                        "A baby who is still feeding a little cannot have a serious infection.",
                    ),
                    (
                        "Medicines should not be given to a baby this young without advice from a doctor or pharmacist.",
                        "An adult-strength cold remedy is a quick way to bring a baby's fever down.",
                    ),
                ),
                (
                    "Take your baby to be seen today.",
                    "Keep offering breast or bottle feeds.",
                    "Write down each temperature reading and the time you took it.",
                ),
                (
                    "a bulging soft spot on the top of the head",
                    "grunting, very fast breathing or pauses in breathing",
                    "a blue, pale or blotchy skin colour",
                ),
                "If you notice any of these, call emergency services straight away.",
                (
                    "A young baby's immune system is immature, so infections can spread quickly with few signs, which is why the threshold for a check is low.",
                    "Young babies are fully protected by their mother's immunity, so a fever in the first months is harmless.",
                ),
                "overheating from too many layers, which only a check can tell apart from infection",
                ("infant", "remote", "low_resource"),
                "child",
            ),
            Condition(
                "bronchiolitis",
                "bronchiolitis",
                (
                    "a runny nose, a cough and fast breathing, and is feeding a bit less than usual",
                    "a wheezy cough and noisy breathing that started after a cold",
                ),
                "urgent",
                "This sounds like bronchiolitis, a common chest virus in babies, and because the breathing is fast your baby should be seen by a doctor today.",
                (
                    (
                        "Bronchiolitis is caused by a virus, most often RSV, so antibiotics do not help.",
                        "Bronchiolitis is a bacterial chest infection that needs antibiotics.",
                    ),
                    (
                        "Symptoms often peak around days three to five, and the cough can last two to three weeks.",
                        "Bronchiolitis is at its worst on the first day and gone within 48 hours.",
                    ),
                    (
                        "Smaller feeds given more often are easier for a breathless baby to manage.",
                        "A breathless baby should be made to finish full-size feeds.",
                    ),
                ),
                (
                    "Offer smaller feeds more often.",
                    "Keep your baby away from cigarette smoke.",
                    "Count the wet nappies through the day.",
                ),
                (
                    "long pauses in breathing",
                    "a blue tinge around the lips",
                    "taking less than half the usual feeds or no wet nappy for 12 hours",
                ),
                "Any of these means calling emergency services now.",
                (
                    "The virus inflames the smallest airways, which fill with mucus, and that is why breathing is fast and feeding is hard work.",
                    "The wheeze comes from an allergy, which is why an antihistamine would cure it.",
                ),
                "whooping cough, if the coughing comes in long bouts",
                ("infant", "remote", "low_resource"),
                "child",
            ),
            Condition(
                "child_gastroenteritis",
                "a tummy bug in a child",
                (
                    "diarrhoea and vomiting since yesterday but is still having some drinks",
                    "runny poo five times today and has been sick twice",
                ),
                "routine",
                "Most tummy bugs in children settle within a few days and can be managed at home, where the main job is preventing dehydration.",
                (
                    (
                        "Oral rehydration solution replaces both the water and the salts lost through diarrhoea and vomiting.",
                        "Fizzy drinks and fruit juice are the best way to rehydrate a child with diarrhoea.",
                    ),
                    (
                        "Small sips given often stay down better than large drinks when a child is vomiting.",
                        "A vomiting child should be given nothing to drink for 24 hours.",
                    ),
                    (
                        "Medicines to stop diarrhoea should not be given to young children.",
                        "Anti-diarrhoea tablets are a safe way to stop diarrhoea in young children.",
                    ),
                ),
                (
                    "Give oral rehydration solution in small, frequent sips.",
                    "Keep your child off nursery or school until 48 hours after the last episode.",
                    "Wash hands well with soap and water to stop it spreading.",
                ),
                (
                    "signs of dehydration such as a dry mouth, no tears or very few wet nappies",
                    "green vomit or blood in the poo",
                    "vomiting that stops any fluid staying down",
                ),
                "If you see any of these, get your child seen urgently the same day, or call emergency services if they are floppy or hard to wake.",
                (
                    "Diarrhoea and vomiting drain water and salts quickly from a small body, which is why replacing fluids matters more than stopping the diarrhoea.",
                    "Diarrhoea is the body flushing out poison, so fluids should be held back until it stops.",
                ),
                "a urine infection or, rarely, a blockage in the bowel",
                ("child", "remote", "low_resource"),
                "child",
            ),
        ),
        _c(
            "obstetrics",
            Condition(
                "preeclampsia_headache",
                "headache in late pregnancy",
                (
                    "a headache that won't go away and some swelling in my face and hands",
                    "a bad headache with flashing lights in my vision",
                ),
                "emergency",
                "A headache with swelling or vision changes late in pregnancy can be a sign of pre-eclampsia, so contact your maternity unit or go to hospital today to have your blood pressure and urine checked.",
                (
                    (
                        "Pre-eclampsia is diagnosed with a blood pressure check and a urine test for protein.",
                        "Pre-eclampsia is diagnosed from how swollen your ankles are.",
                    ),
                    (
                        "Pre-eclampsia can develop quickly and can be serious for both mother and baby.",
                        "Pre-eclampsia only affects the mother and never the baby.",
                    ),
                    (
                        "Pre-eclampsia can occur after 20 weeks of pregnancy and even after the birth.",
                        "Pre-eclampsia can only happen in the first trimester.",
                    ),
                ),
                (
                    "Call your midwife or maternity assessment unit today.",
                    "Have your blood pressure and urine checked.",
                    "Keep track of your baby's movements.",
                ),
                (
                    "severe headache with vision problems",
                    "pain just below the ribs on the right",
                    "sudden swelling of the face, hands or feet",
                ),
                "If you have any of these, call emergency services or your maternity unit immediately.",
                (
                    "These symptoms point to pre-eclampsia because it raises blood pressure, which causes headache and fluid leaking into tissues.",
                    "These symptoms happen because the baby is pressing on your head.",
                ),
                "a tension headache, which can only be assumed once pre-eclampsia has been ruled out",
                ("pregnancy", "remote"),
            ),
            Condition(
                "reduced_fetal_movements",
                "reduced baby movements",
                (
                    "I noticed the baby moving much less than usual since this morning",
                    "I felt fewer kicks today than normal",
                ),
                "emergency",
                "Reduced baby movements should be checked the same day: contact your maternity unit now rather than waiting until tomorrow.",
                (
                    (
                        "A change in your baby's usual pattern of movements can be a sign the baby is unwell.",
                        "Babies normally move less towards the end of pregnancy, so fewer movements are expected.",
                    ),
                    (
                        "Home heart-rate dopplers should not be used to reassure yourself.",
                        "A home doppler is a reliable way to check that everything is fine.",
                    ),
                    (
                        "The maternity unit can check the baby's heart rate with a monitor (CTG).",
                        "Nothing can be checked until your next routine scan.",
                    ),
                ),
                (
                    "Contact your maternity unit straight away.",
                    "Lie on your left side and focus on movements while you wait for advice.",
                    "Go in for monitoring if asked.",
                ),
                ("no movements at all", "bleeding or fluid leaking from the vagina", "severe tummy pain"),
                "With any of these, call emergency services or your maternity unit immediately.",
                (
                    "Movements reflect how well the baby is, so a change needs checking quickly.",
                    "Fewer movements just mean the baby is sleeping more, which is why waiting is fine.",
                ),
                "a quiet period of the baby, which can only be assumed after monitoring",
                ("remote",),
                "event",
            ),
            Condition(
                "uti_pregnancy",
                "a urine infection in pregnancy",
                (
                    "a burning feeling when I pee and needing to go much more often than usual",
                    "stinging when passing urine and a dull ache low in my tummy",
                ),
                "urgent",
                "A urine infection in pregnancy should always be treated, so contact your doctor or midwife today for a urine test and, if needed, an antibiotic that is safe in pregnancy.",
                (
                    (
                        "Urine infections in pregnancy are treated even when symptoms are mild, because they can spread to the kidneys.",
                        "Urine infections in pregnancy are left untreated to protect the baby from antibiotics.",
                    ),
                    (
                        "Several antibiotics are safe in pregnancy, and your prescriber will choose one of them.",
                        "No antibiotic can be taken at any stage of pregnancy.",
                    ),
                    (
                        "A urine sample is sent to the lab so the antibiotic can be matched to the germ.",
                        "A urine sample is of no use during pregnancy.",
                    ),
                ),
                (
                    "Contact your doctor or midwife today.",
                    "Give a urine sample before starting antibiotics if you can.",
                    "Take the whole antibiotic course, even once you feel better.",
                ),
                ("fever or shivering", "pain in your back or side", "tightenings or contractions"),
                "With any of these, go to your maternity unit straight away, as a kidney infection or early labour needs hospital care.",
                (
                    "Pregnancy hormones relax the tubes that drain the kidneys, so a bladder infection can travel upwards more easily, which is why early treatment matters.",
                    "Urine infections in pregnancy are harmless because the baby is protected inside the womb.",
                ),
                "thrush, or the normal need to pass urine more often in pregnancy",
                ("pregnancy", "penicillin_allergy", "remote"),
            ),
            Condition(
                "early_pregnancy_bleeding",
                "bleeding in early pregnancy",
                (
                    "some light bleeding and mild cramps in early pregnancy, about eight weeks along",
                    "spotting at around seven weeks pregnant",
                ),
                "urgent",
                "Bleeding in early pregnancy is common and often settles, but it should be checked: contact your early pregnancy unit, doctor or midwife today.",
                (
                    (
                        "Light bleeding in early pregnancy is common, and many pregnancies continue normally.",
                        "Any bleeding in early pregnancy always means a miscarriage.",
                    ),
                    (
                        "An ultrasound scan is used to check the pregnancy and where it is growing.",
                        "A home pregnancy test can tell you whether the pregnancy is healthy.",
                    ),
                    (
                        "One-sided pain with bleeding can be an ectopic pregnancy, which needs urgent care.",
                        "One-sided pain in early pregnancy is always just the womb stretching.",
                    ),
                ),
                (
                    "Contact your early pregnancy unit or doctor today.",
                    "Use pads rather than tampons so the bleeding can be monitored.",
                    "Note how much you are bleeding and whether there are clots.",
                ),
                (
                    "heavy bleeding that soaks a pad in an hour",
                    "severe or one-sided tummy pain",
                    "shoulder-tip pain, dizziness or fainting",
                ),
                "These can be signs of an ectopic pregnancy or heavy blood loss: call emergency services or go to the emergency department now.",
                (
                    "Bleeding can come from the cervix, a threatened miscarriage or an ectopic pregnancy, and only a scan can tell these apart.",
                    "Bleeding happens because of too much activity, so strict bed rest guarantees the pregnancy continues.",
                ),
                "bleeding from the cervix, which is more sensitive in pregnancy",
                ("rhesus_negative", "remote", "language"),
            ),
            Condition(
                "mastitis",
                "mastitis while breastfeeding",
                (
                    "a painful, red, hot wedge-shaped area on one breast",
                    "a tender hard lump in my breast with redness and aching",
                ),
                "urgent",
                "This sounds like mastitis: keep breastfeeding or expressing from that side, and see your doctor or midwife if it is not improving within a day or you feel unwell.",
                (
                    (
                        "It is safe for the baby to keep feeding from the affected breast.",
                        "You must stop breastfeeding from the affected breast to protect the baby.",
                    ),
                    (
                        "Mastitis often starts from milk building up behind a blocked duct.",
                        "Mastitis is caused by the baby's teeth.",
                    ),
                    (
                        "If antibiotics are needed, there are options that are safe while breastfeeding.",
                        "Taking any antibiotic for mastitis means you have to stop breastfeeding.",
                    ),
                ),
                (
                    "Keep feeding or expressing from the affected breast.",
                    "Rest and drink plenty of fluids.",
                    "See your doctor or midwife if it has not improved within a day.",
                ),
                (
                    "fever above 38°C or feeling shivery and unwell",
                    "a hard, painful lump that does not go away",
                    "red streaks spreading across the breast",
                ),
                "With any of these, get a same-day appointment, and go to the emergency department if you feel very unwell.",
                (
                    "Milk that is not removed builds up and inflames the breast tissue, which is why keeping milk flowing helps it settle.",
                    "The inflammation comes from making too much milk, so feeding less is the cure.",
                ),
                "a blocked duct or, rarely, a breast abscess",
                ("breastfeeding", "penicillin_allergy", "remote"),
            ),
        ),
        _c(
            "cardiology",
            Condition(
                "acs_chest_pain",
                "chest pain that could be a heart attack",
                (
                    "a heavy, pressing pain in the middle of my chest for 20 minutes that spreads to my left arm",
                    "tightness in my chest with sweating and nausea",
                ),
                "emergency",
                "This could be a heart attack: call emergency services now and do not drive yourself to hospital.",
                (
                    (
                        "Chewing a 300 mg aspirin while waiting for the ambulance helps if you are not allergic and have not been told to avoid it.",
                        "Taking two paracetamol tablets is the right first-aid for heart chest pain.",
                    ),
                    (
                        "Heart attacks can cause pain in the arm, jaw, neck or back, not only the chest.",
                        "Heart attack pain is always sharp and only on the left side of the chest.",
                    ),
                    (
                        "Every minute of delay loses heart muscle, so treatment works best early.",
                        "Waiting an hour to see if it settles does no harm to the heart.",
                    ),
                ),
                (
                    "Call emergency services now.",
                    "Sit down and rest while waiting.",
                    "Unlock the door and have your medicine list ready.",
                ),
                (
                    "pain that spreads to the arm, jaw or back",
                    "sweating, breathlessness or fainting",
                    "pain lasting more than 15 minutes",
                ),
                "Any of these with chest pain means calling emergency services immediately.",
                (
                    "Pressure-like central chest pain with sweating suggests a blocked heart artery, which is why fast treatment matters.",
                    "The pain is probably from a pulled muscle because it is in the chest.",
                ),
                "indigestion, but only a medical check can safely tell them apart",
                ("warfarin", "remote"),
            ),
            Condition(
                "palpitations_af",
                "an irregular heartbeat",
                (
                    "a fluttering, irregular heartbeat on and off for a few days",
                    "my pulse feels irregular and fast at times",
                ),
                "urgent",
                "An irregular heartbeat that keeps coming back needs an ECG, so see your doctor within a day or two.",
                (
                    (
                        "Atrial fibrillation raises the risk of stroke, which is why blood thinners are often considered.",
                        "Atrial fibrillation is harmless and never affects stroke risk.",
                    ),
                    (
                        "An ECG recorded during symptoms is the key test.",
                        "A blood test alone can diagnose atrial fibrillation.",
                    ),
                    (
                        "Caffeine, alcohol and poor sleep can trigger palpitations.",
                        "Palpitations are caused by drinking too much water.",
                    ),
                ),
                (
                    "Book an ECG with your doctor.",
                    "Note when the episodes happen and how long they last.",
                    "Cut down on caffeine and alcohol.",
                ),
                (
                    "chest pain, fainting or severe breathlessness",
                    "face drooping, arm weakness or slurred speech",
                    "a very fast pulse that does not settle",
                ),
                "If any of these occur, call emergency services immediately.",
                (
                    "An ECG matters because only a recording of the heart rhythm can show whether it is atrial fibrillation or another rhythm.",
                    "The rhythm can be judged from how anxious you feel, so no test is needed.",
                ),
                "extra beats (ectopics), which are often harmless",
                ("warfarin", "elderly", "remote"),
            ),
            Condition(
                "heart_failure_fluid",
                "fluid building up with heart failure",
                (
                    "swollen ankles, breathlessness lying flat and a 2 kg weight gain in three days",
                    "more breathlessness than usual and puffy legs despite my heart failure tablets",
                ),
                "urgent",
                "These signs suggest fluid is building up from your heart failure, so contact your heart failure nurse or doctor today, as your treatment may need adjusting.",
                (
                    (
                        "Weighing yourself every morning helps spot fluid building up early.",
                        "Daily weighing is pointless with heart failure because weight changes are only fat.",
                    ),
                    (
                        "A gain of about 2 kg over a few days can mean fluid is being retained.",
                        "Gaining weight quickly with heart failure is a sign you are getting healthier.",
                    ),
                    (
                        "The heart failure team often adjusts water tablets (diuretics) when fluid builds up.",
                        "You should stop all your heart medicines when your ankles swell.",
                    ),
                ),
                (
                    "Contact your heart failure nurse or doctor today.",
                    "Weigh yourself each morning after passing urine and write it down.",
                    "Follow the fluid and salt advice your team gave you.",
                ),
                ("breathlessness at rest or waking up gasping", "chest pain", "fainting or a very fast heartbeat"),
                "If any of these happen, call emergency services.",
                (
                    "A weakened heart pumps less well, so fluid backs up into the lungs and legs, which explains the breathlessness and swelling.",
                    "The swelling comes from sitting too much, so it has nothing to do with the heart.",
                ),
                "a side effect of some blood pressure tablets, or a kidney problem",
                ("ckd", "polypharmacy", "elderly"),
            ),
            Condition(
                "statin_aches",
                "muscle aches on a statin",
                (
                    "aching thighs and shoulders since starting a statin two months ago",
                    "muscle aches that I think are from my cholesterol tablet",
                ),
                "routine",
                "Mild muscle aches are common and are not always caused by the statin, so keep taking it for now and book a routine review with your doctor to discuss it.",
                (
                    (
                        "Statins lower the risk of heart attack and stroke.",
                        "Statins only change cholesterol numbers and do not affect heart attack risk.",
                    ),
                    (
                        "Muscle aches are often not caused by the statin itself, and many people can continue or switch to a different statin.",
                        "Any muscle ache on a statin means you can never take a statin again.",
                    ),
                    (
                        "Grapefruit juice can raise the levels of some statins, such as simvastatin.",
                        "Grapefruit juice has no effect on any statin.",
                    ),
                ),
                (
                    "Keep taking your statin until you have spoken to your doctor.",
                    "Book a routine appointment to review the aches.",
                    "Note when the aches started and which muscles are affected.",
                ),
                (
                    "severe muscle pain or weakness",
                    "dark brown urine",
                    "muscle pain together with a fever and feeling very unwell",
                ),
                "If any of these happen, stop the statin and get medical advice the same day.",
                (
                    "Statins slow the fatty build-up in the arteries, which is why stopping them without advice can raise your heart risk.",
                    "Statins only work while you feel the aches, so the aches prove the tablet is working.",
                ),
                "an underactive thyroid, a low vitamin D level or recent hard exercise",
                ("polypharmacy", "athlete", "ckd"),
            ),
            Condition(
                "stable_angina",
                "possible angina",
                (
                    "a tight feeling in my chest when I walk uphill that goes away after a few minutes' rest",
                    "chest heaviness when climbing stairs for the past month, easing when I stop",
                ),
                "urgent",
                "Chest tightness that comes on with exertion and eases with rest can be angina, so see your doctor within the next few days to arrange heart tests.",
                (
                    (
                        "Angina happens when narrowed heart arteries cannot deliver enough blood during effort.",
                        "Angina is caused by weak chest muscles and improves with press-ups.",
                    ),
                    (
                        "Chest pain at rest or lasting more than 15 minutes must be treated as a possible heart attack.",
                        "Angina pain at rest is normal and can be waited out for an hour.",
                    ),
                    (
                        "Stopping smoking and controlling blood pressure and cholesterol lower the risk of future heart problems.",
                        "Smoking makes no difference once angina has started.",
                    ),
                ),
                (
                    "See your doctor within the next few days.",
                    "Stop and rest whenever the tightness starts.",
                    "Avoid heavy exertion until you have been assessed.",
                ),
                (
                    "pain at rest or lasting more than 15 minutes",
                    "pain with sweating, nausea or breathlessness",
                    "episodes becoming more frequent or more severe",
                ),
                "If any of these happen, call emergency services now.",
                (
                    "Effort raises the heart's need for oxygen and narrowed arteries cannot keep up, which is why the pain comes with exercise and settles with rest.",
                    "The tightness comes on with exercise because of stomach acid, so it is unrelated to the heart.",
                ),
                "acid reflux or a chest wall strain, which can only be assumed once the heart has been checked",
                ("athlete", "remote", "polypharmacy"),
            ),
        ),
        _c(
            "psychiatry",
            Condition(
                "depression_passive_si",
                "low mood with thoughts of not wanting to be here",
                (
                    "feeling low for two months and sometimes thinking everyone would be better off without me",
                    "no interest in anything, poor sleep and thoughts that life isn't worth living",
                ),
                "urgent",
                "What you describe sounds like depression, and because you have had thoughts that life isn't worth living, please talk to your doctor or a crisis line today.",
                (
                    (
                        "Depression is common and treatable with talking therapy, medication or both.",
                        "Depression is a sign of weakness and goes away if you try harder.",
                    ),
                    (
                        "Talking about suicidal thoughts does not put the idea in someone's head; it helps.",
                        "Talking about suicidal thoughts makes them more likely, so it is better not to mention them.",
                    ),
                    (
                        "Antidepressants usually take two to six weeks to work.",
                        "Antidepressants work within the first day or they never will.",
                    ),
                ),
                (
                    "Speak to your doctor this week about how you are feeling.",
                    "Tell someone you trust how you are feeling.",
                    "Keep a crisis line number handy.",
                ),
                (
                    "a plan or intention to end your life",
                    "having the means to harm yourself",
                    "feeling you cannot keep yourself safe",
                ),
                "If any of these apply, call emergency services or a crisis line now, or go to the nearest emergency department.",
                (
                    "Two months of low mood and loss of interest fit depression, and thoughts of death raise the urgency.",
                    "Feeling low for two months is normal sadness, so the thoughts are nothing to worry about.",
                ),
                "a thyroid problem or another medical cause of low mood",
                ("sertraline", "remote"),
            ),
            Condition(
                "panic_attacks",
                "panic attacks",
                (
                    "sudden episodes of a racing heart, shaking and feeling I might die, lasting about ten minutes",
                    "attacks of fear with tight breathing and tingling hands",
                ),
                "routine",
                "These episodes sound like panic attacks, which are frightening but treatable; book a routine appointment with your doctor to confirm it and discuss therapy.",
                (
                    (
                        "Panic attacks usually peak within about ten minutes and then settle.",
                        "Panic attacks usually last for several days at a time.",
                    ),
                    (
                        "Cognitive behavioural therapy is an effective treatment for panic disorder.",
                        "Only sedative tablets can treat panic attacks.",
                    ),
                    (
                        "Slow breathing can ease the tingling caused by over-breathing.",
                        "Breathing into a paper bag for as long as possible is the safest way to stop an attack.",
                    ),
                ),
                (
                    "Book a doctor's appointment to rule out physical causes.",
                    "Practise slow breathing during an episode.",
                    "Ask about cognitive behavioural therapy.",
                ),
                ("chest pain that is different or lasts longer than usual", "fainting", "thoughts of harming yourself"),
                "If you have any of these, get emergency help rather than assuming it is panic.",
                (
                    "Panic symptoms come from a surge of adrenaline, which explains the racing heart and why they pass.",
                    "The symptoms come from a weak heart, which is why they feel so physical.",
                ),
                "an overactive thyroid or a heart rhythm problem",
                ("sertraline", "elderly"),
            ),
            Condition(
                "lithium_toxicity",
                "possible lithium toxicity",
                (
                    "a coarse tremor, diarrhoea and unsteadiness since I started taking ibuprofen for back pain while on lithium",
                    "being sick, shaky hands and feeling muddled while on lithium during a heatwave",
                ),
                "emergency",
                "These can be signs of lithium toxicity, so get medical help today at an emergency department, where your lithium level can be checked, and do not take your next lithium dose until a doctor has advised you.",
                (
                    (
                        "Ibuprofen and other NSAIDs can raise lithium levels.",
                        "Ibuprofen has no effect on lithium levels.",
                    ),
                    (
                        "Dehydration from vomiting, diarrhoea or hot weather can push lithium to a toxic level.",
                        "Drinking less water keeps lithium levels stable.",
                    ),
                    (
                        "Lithium needs regular blood tests because the gap between a helpful and a toxic level is narrow.",
                        "Once you are on a steady lithium dose, blood tests are no longer needed.",
                    ),
                ),
                (
                    "Get a lithium blood test today.",
                    "Stop the ibuprofen and tell the team every other medicine you have taken.",
                    "Keep sipping fluids unless you are told otherwise.",
                ),
                (
                    "confusion or severe drowsiness",
                    "slurred speech or a very unsteady walk",
                    "a fit or muscle twitching",
                ),
                "With any of these, call emergency services immediately.",
                (
                    "Lithium is cleared by the kidneys, so anything that slows them, such as dehydration or NSAIDs, makes it build up.",
                    "The tremor comes from worry about the illness, so lithium cannot be the cause.",
                ),
                "a stomach bug on its own, though with lithium this can only be assumed after a blood test",
                ("ckd", "elderly", "remote"),
            ),
            Condition(
                "insomnia",
                "trouble sleeping",
                (
                    "trouble falling asleep most nights for the past month and feeling exhausted at work",
                    "waking at 3 am every night and not getting back to sleep",
                ),
                "routine",
                "Trouble sleeping is common and usually improves with steady sleep habits; if it lasts more than three months or badly affects your days, see your doctor about cognitive behavioural therapy for insomnia.",
                (
                    (
                        "Cognitive behavioural therapy for insomnia is the recommended first treatment for long-term sleep problems.",
                        "Sleeping tablets are the best long-term treatment for insomnia.",
                    ),
                    (
                        "Getting up at the same time every day, even after a bad night, helps reset your sleep.",
                        "Sleeping in late after a bad night is the best way to catch up.",
                    ),
                    (
                        "Caffeine can disturb sleep for many hours, so it is best avoided from the afternoon.",
                        "Coffee in the evening helps you relax into sleep.",
                    ),
                ),
                (
                    "Keep a sleep diary for two weeks.",
                    "Keep the same wake-up time every day.",
                    "Go to bed only when sleepy, and get up if you cannot sleep after about 20 minutes.",
                ),
                (
                    "thoughts of harming yourself or ending your life",
                    "falling asleep while driving or at work",
                    "low mood that keeps getting worse",
                ),
                "If any of these apply, speak to your doctor urgently, and call emergency services or a crisis line if you feel unsafe.",
                (
                    "Worry about sleep keeps the brain alert at bedtime, which is why routines and therapy that break that link work better than tablets.",
                    "Insomnia comes from not spending enough time in bed, so staying in bed longer fixes it.",
                ),
                "low mood, an overactive thyroid or sleep apnoea",
                ("shift_worker", "elderly", "sertraline"),
            ),
            Condition(
                "alcohol_withdrawal_risk",
                "cutting down on heavy drinking",
                (
                    "I drink about a bottle of wine every day and get shaky in the mornings",
                    "I have been drinking heavily every day for years and want to stop",
                ),
                "urgent",
                "Because you drink heavily every day, do not stop suddenly on your own; see your doctor or a local alcohol service soon so that you can cut down safely, possibly with medicine to manage withdrawal.",
                (
                    (
                        "Stopping suddenly after heavy daily drinking can cause dangerous withdrawal, including fits.",
                        "Stopping alcohol suddenly is always the safest way to quit, whatever the amount.",
                    ),
                    (
                        "Withdrawal symptoms usually start within hours to a day after the last drink.",
                        "Withdrawal symptoms only start a month after stopping.",
                    ),
                    (
                        "Thiamine (vitamin B1) is often given to protect the brain in people who drink heavily.",
                        "Vitamins are of no use to people who drink heavily.",
                    ),
                ),
                (
                    "Book an appointment with your doctor or a local alcohol service.",
                    "Do not stop drinking suddenly without medical advice.",
                    "Tell someone you trust about your plan to cut down.",
                ),
                ("a fit", "seeing or hearing things that are not there", "severe confusion, shaking or sweating"),
                "If any of these happen, call emergency services immediately, as severe withdrawal needs hospital care.",
                (
                    "Heavy drinking makes the brain adapt to alcohol, so a sudden stop leaves it over-excited, which causes shakes and fits.",
                    "Morning shakes are caused by low blood sugar alone, so alcohol has nothing to do with them.",
                ),
                "anxiety or an overactive thyroid as other causes of shaking",
                ("liver", "remote", "language"),
                "event",
            ),
        ),
        _c(
            "pharmacy",
            Condition(
                "paracetamol_combination",
                "combining cold remedies with paracetamol",
                (
                    "a cold, and I'm taking paracetamol tablets plus a cold-and-flu sachet",
                    "a bad cold and want to take paracetamol with a flu powder",
                ),
                "routine",
                "Check the labels first: most cold-and-flu remedies already contain paracetamol, so taking both can easily exceed the safe daily dose.",
                (
                    (
                        "The usual maximum for adults is 4 g of paracetamol in 24 hours.",
                        "Adults can safely take up to 8 g of paracetamol in 24 hours.",
                    ),
                    (
                        "Paracetamol overdose can damage the liver even when you feel fine at first.",
                        "A paracetamol overdose always causes symptoms straight away.",
                    ),
                    (
                        "Many cold remedies contain paracetamol as one of several ingredients.",
                        "Cold remedies never contain paracetamol.",
                    ),
                ),
                (
                    "Read the ingredients of every product you take.",
                    "Keep a note of doses and times.",
                    "Ask a pharmacist which single product fits your symptoms.",
                ),
                (
                    "having taken more than the maximum dose",
                    "yellowing of the skin or eyes",
                    "vomiting or pain under the right ribs",
                ),
                "If you may have taken too much, go to the emergency department now even if you feel well.",
                (
                    "Double dosing happens because the same ingredient hides under different brand names, which is why label checks matter.",
                    "Combining products is safe because each box has its own safe limit.",
                ),
                "a bacterial infection if symptoms last more than 10 days",
                ("warfarin", "ckd", "pregnancy"),
            ),
            Condition(
                "missed_pill",
                "a missed contraceptive pill",
                (
                    "I forgot to take my combined contraceptive pill yesterday and had sex last night",
                    "I missed one of my combined pills this week",
                ),
                "routine",
                "If only one combined pill was missed, take it as soon as you remember and continue the pack as usual; you are usually still protected.",
                (
                    (
                        "Missing one combined pill usually keeps contraceptive protection.",
                        "Missing one pill always means you are no longer protected for the rest of the month.",
                    ),
                    (
                        "Taking two pills on one day is fine when catching up.",
                        "Taking two pills in one day is dangerous.",
                    ),
                    (
                        "Vomiting within two hours of a pill counts as a missed pill.",
                        "Vomiting after a pill has no effect on protection.",
                    ),
                ),
                (
                    "Take the missed pill now.",
                    "Continue the pack at the usual time.",
                    "Ask a pharmacist about emergency contraception if two or more pills were missed.",
                ),
                (
                    "missing two or more pills with unprotected sex",
                    "severe leg pain or swelling",
                    "chest pain or breathlessness",
                ),
                "For missed pills with unprotected sex, seek emergency contraception quickly; for leg or chest symptoms seek urgent care.",
                (
                    "Protection depends on how many hormone-free days build up, which is why one missed pill rarely matters.",
                    "Protection depends on taking pills at the exact same minute each day.",
                ),
                "interaction with another medicine that lowers pill effectiveness",
                ("remote",),
                "event",
            ),
            Condition(
                "warfarin_new_medicine",
                "starting a new medicine while on warfarin",
                (
                    "I take warfarin and was just prescribed an antibiotic for a chest infection",
                    "I'm on warfarin and want to start a herbal supplement",
                ),
                "routine",
                "Antibiotics and many supplements can change how warfarin works, so let your anticoagulation clinic know and ask whether you need an extra INR blood test in the next few days.",
                (
                    (
                        "Some antibiotics can raise the INR and increase the risk of bleeding with warfarin.",
                        "Antibiotics never affect warfarin.",
                    ),
                    (
                        "Big changes in how many leafy green vegetables you eat can alter warfarin's effect, so keep your diet steady rather than avoiding them.",
                        "You must never eat any green vegetables while taking warfarin.",
                    ),
                    (
                        "St John's wort and some other herbal remedies can change warfarin levels.",
                        "Herbal remedies are natural, so they are always safe with warfarin.",
                    ),
                ),
                (
                    "Tell your anticoagulation clinic about the new medicine.",
                    "Ask whether an extra INR test is needed.",
                    "Check with a pharmacist before buying any over-the-counter medicine or supplement.",
                ),
                (
                    "black, tarry stools or blood in the urine",
                    "bleeding that will not stop, or coughing or vomiting blood",
                    "a severe headache or any head injury",
                ),
                "With any of these, go to the emergency department or call emergency services.",
                (
                    "Warfarin's effect depends on vitamin K and on liver enzymes that many medicines change, which is why a new medicine can tip the INR.",
                    "Warfarin works only in the blood, so other medicines cannot change its effect.",
                ),
                "a change in diet or alcohol as the cause of an unstable INR",
                ("polypharmacy", "liver", "language"),
                "event",
            ),
            Condition(
                "emergency_contraception",
                "emergency contraception",
                (
                    "I had unprotected sex last night and want to avoid getting pregnant",
                    "the condom split two days ago",
                ),
                "routine",
                "Emergency contraception works best the sooner it is used, so go to a pharmacy or sexual health clinic today.",
                (
                    (
                        "The copper coil is the most effective emergency contraception and can be fitted up to five days after sex.",
                        "The emergency pill is more effective than the copper coil.",
                    ),
                    (
                        "Levonorgestrel works up to 72 hours after sex and ulipristal up to 120 hours, but both work better the sooner they are taken.",
                        "Emergency pills work equally well at any time in the week after sex.",
                    ),
                    (
                        "Emergency contraception does not end a pregnancy that has already started.",
                        "The emergency pill works by ending an existing pregnancy.",
                    ),
                ),
                (
                    "Go to a pharmacy or sexual health clinic today.",
                    "Do a pregnancy test three weeks after the unprotected sex.",
                    "Consider a check for sexually transmitted infections.",
                ),
                (
                    "sudden severe one-sided tummy pain",
                    "vomiting within three hours of taking the tablet",
                    "a period that is late or unusually light",
                ),
                "For severe tummy pain seek urgent care; for vomiting after the tablet or a late period, speak to a pharmacist or doctor promptly.",
                (
                    "Emergency pills work mainly by delaying the release of an egg, which is why timing matters so much.",
                    "The emergency pill works by killing sperm already in the body, so timing does not matter.",
                ),
                "an existing pregnancy from earlier unprotected sex, which a test can show",
                ("polypharmacy", "breastfeeding", "language"),
                "event",
            ),
            Condition(
                "hay_fever",
                "hay fever",
                (
                    "sneezing, an itchy runny nose and itchy watery eyes every day since the pollen season started",
                    "a blocked nose and streaming eyes whenever I go outside in summer",
                ),
                "routine",
                "Hay fever can usually be managed with treatments from a pharmacy: a non-drowsy antihistamine and a steroid nasal spray used every day through the season work well for most people.",
                (
                    (
                        "Steroid nasal sprays work best when used every day and can take a few days to reach full effect.",
                        "Steroid nasal sprays work within minutes and only need using when you sneeze.",
                    ),
                    (
                        "Non-drowsy antihistamines such as cetirizine or loratadine cause less sleepiness than older ones.",
                        "All antihistamines cause the same drowsiness, so none of them are safer before driving.",
                    ),
                    (
                        "Starting treatment a couple of weeks before your usual season can reduce symptoms.",
                        "Hay fever treatment only works if you wait until symptoms are severe.",
                    ),
                ),
                (
                    "Use the steroid nasal spray every day during the season.",
                    "Shower and change your clothes after being outside on high-pollen days.",
                    "Ask your pharmacist which antihistamine suits you.",
                ),
                (
                    "wheezing or a tight chest",
                    "swelling of the lips, tongue or throat",
                    "breathing that becomes noisy or difficult",
                ),
                "Wheeze needs a prompt doctor's review, and swelling of the throat or difficulty breathing needs emergency services immediately.",
                (
                    "Pollen triggers the release of histamine in the nose and eyes, which is why antihistamines and steroid sprays that calm this reaction help.",
                    "Hay fever is a virus caught from pollen, so antibiotics are what clear it.",
                ),
                "a cold or non-allergic rhinitis",
                ("pregnancy", "breastfeeding", "asthma"),
            ),
        ),
        _c(
            "nursing",
            Condition(
                "pressure_ulcer",
                "a pressure sore",
                (
                    "a red patch on my bedbound father's lower back that doesn't fade",
                    "a sore area on my mum's heel since she stopped walking",
                ),
                "urgent",
                "This may be an early pressure sore, so ask the district or community nurse to assess it within a day or two and relieve pressure on the area now.",
                (
                    (
                        "Changing position regularly relieves pressure and helps prevent sores.",
                        "Massaging the red area hard improves blood flow and heals it.",
                    ),
                    ("Good nutrition and fluids help skin heal.", "Diet makes no difference to pressure sores."),
                    (
                        "Special mattresses and cushions spread pressure.",
                        "A thick extra blanket is as good as a pressure-relieving mattress.",
                    ),
                ),
                (
                    "Change position at least every two to four hours.",
                    "Keep the skin clean and dry.",
                    "Ask for a pressure-relieving mattress or cushion.",
                ),
                ("an open wound or blister", "a bad smell, pus or spreading redness", "fever or confusion"),
                "With any of these, contact the nurse or doctor the same day, or emergency services if they are very unwell.",
                (
                    "Pressure cuts off the blood supply to skin over bones, which is why regular turning prevents damage.",
                    "Sores happen because the skin is too dry, so lotion alone fixes them.",
                ),
                "a skin infection such as cellulitis",
                ("remote",),
                "carer",
            ),
            Condition(
                "post_fall_care",
                "caring for someone after a fall",
                (
                    "my elderly mother had a fall at home yesterday and hit her head but seems okay",
                    "my grandmother slipped and bumped her head on the floor this morning",
                ),
                "urgent",
                "After a head bump in an older person, especially on blood thinners, get a same-day medical assessment even if she seems fine.",
                (
                    (
                        "Bleeding inside the skull can develop hours or days after a head injury in older adults.",
                        "If someone is fine one hour after a fall, bleeding in the head cannot happen.",
                    ),
                    (
                        "Blood thinners increase the risk of bleeding after a head injury.",
                        "Blood thinners protect against bleeding after a fall.",
                    ),
                    (
                        "A falls assessment can reduce the risk of falling again.",
                        "Nothing can be done to prevent further falls.",
                    ),
                ),
                (
                    "Arrange a same-day medical check.",
                    "Watch her closely for the next 24 hours.",
                    "Ask for a falls-prevention assessment.",
                ),
                ("drowsiness or confusion", "repeated vomiting", "a headache that gets worse"),
                "If any of these occur, call emergency services immediately.",
                (
                    "Older brains shrink slightly, stretching veins that can bleed slowly, which is why symptoms may appear late.",
                    "Older people have thicker skulls, so head injuries are less serious.",
                ),
                "a faint or heart rhythm problem that caused the fall",
                ("remote",),
                "event",
            ),
            Condition(
                "catheter_infection",
                "a possible infection with a urinary catheter",
                (
                    "cloudy, smelly urine in my father's catheter bag and he seems more confused",
                    "my mum's catheter urine has turned dark and cloudy and she is off her food",
                ),
                "urgent",
                "Cloudy urine with new confusion in someone with a catheter may be an infection, so contact the district nurse or doctor today for an assessment.",
                (
                    (
                        "Cloudy or smelly urine alone is common with a catheter; new confusion or fever makes infection more likely.",
                        "Cloudy urine in a catheter bag always means an infection that needs antibiotics.",
                    ),
                    (
                        "The drainage bag should be kept below the level of the bladder.",
                        "The drainage bag should be hung above the bed so urine drains faster.",
                    ),
                    (
                        "Washing hands before and after handling the catheter reduces the risk of infection.",
                        "Wearing gloves makes hand washing unnecessary when handling a catheter.",
                    ),
                ),
                (
                    "Contact the district nurse or doctor today.",
                    "Keep the drainage bag below bladder level and the tubing free of kinks.",
                    "Encourage regular drinks unless a fluid limit has been advised.",
                ),
                (
                    "a high temperature or shivering",
                    "no urine draining into the bag for several hours",
                    "increasing confusion, drowsiness or fast breathing",
                ),
                "If any of these occur, call the nurse urgently, or emergency services if they are very unwell, as infection can turn into sepsis.",
                (
                    "A catheter gives bacteria a route into the bladder, and in older people infection often shows first as confusion.",
                    "The confusion is simply old age, so it cannot be linked to the catheter.",
                ),
                "dehydration or constipation, which can also cause confusion in older people",
                ("remote", "low_resource", "language"),
                "carer",
            ),
            Condition(
                "older_adult_dehydration",
                "dehydration in an older person",
                (
                    "that my grandmother has been drinking very little in this hot weather and seems more muddled",
                    "my elderly dad has dry lips and has hardly passed urine today",
                ),
                "urgent",
                "An older person who is drinking little, passing less urine and more muddled may be dehydrated, so encourage small regular drinks now and arrange a same-day check with their doctor or nurse.",
                (
                    (
                        "Older people feel thirst less, so they can become dehydrated without asking for a drink.",
                        "Older people always feel thirsty before they become dehydrated.",
                    ),
                    (
                        "Small, frequent drinks are easier to manage than large glasses.",
                        "A large amount of water in one go is the best way to rehydrate an older person.",
                    ),
                    (
                        "Some medicines, such as water tablets, make dehydration more likely in hot weather.",
                        "Medicines have no effect on how quickly someone becomes dehydrated.",
                    ),
                ),
                (
                    "Offer a small drink every hour or so.",
                    "Keep rooms cool and shaded during hot weather.",
                    "Arrange a same-day check with their doctor or nurse.",
                ),
                (
                    "no urine passed all day",
                    "severe drowsiness or being hard to wake",
                    "a racing heartbeat, cold hands or fainting",
                ),
                "If you see any of these, call emergency services immediately, because severe dehydration can damage the kidneys and strain the heart.",
                (
                    "With less fluid in the body, blood flow to the brain and kidneys falls, which is why confusion and passing less urine appear together.",
                    "The muddled thinking comes from the heat alone, so fluids will make no difference.",
                ),
                "a urine or chest infection, which often shows as confusion in older people",
                ("remote", "low_resource", "language"),
                "carer",
            ),
            Condition(
                "tight_cast",
                "a plaster cast that may be too tight",
                (
                    "a new plaster cast on the wrist, with fingers that feel tingly and swollen",
                    "throbbing pain and puffy fingers since the arm was put in plaster yesterday",
                ),
                "urgent",
                "Tingling and swelling in the fingers after a cast is put on can mean it is too tight, so raise your arm now and contact the fracture clinic or emergency department today if it does not settle within an hour.",
                (
                    (
                        "Raising the arm above heart level helps reduce swelling in the first few days.",
                        "Letting the arm hang down helps blood flow and reduces swelling.",
                    ),
                    (
                        "A cast that is too tight can squeeze nerves and blood vessels.",
                        "A tight cast is a sign the bone is healing well.",
                    ),
                    (
                        "Never push objects inside the cast to scratch an itch.",
                        "Sliding a knitting needle inside the cast is a safe way to ease itching.",
                    ),
                ),
                ("Keep your arm raised on pillows.", "Wiggle your fingers regularly.", "Keep the cast dry."),
                (
                    "fingers that are blue, white or cold",
                    "numbness or pins and needles that do not settle",
                    "severe pain that keeps getting worse",
                ),
                "With any of these, go back to the fracture clinic or emergency department straight away.",
                (
                    "Swelling inside a rigid cast has nowhere to go, so it presses on nerves and blood vessels, which causes the tingling.",
                    "Tingling happens because the bone is knitting together, so it is a good sign.",
                ),
                "normal mild swelling that settles once the arm is raised",
                ("child", "elderly", "remote"),
            ),
        ),
        _c(
            "emergency_medicine",
            Condition(
                "anaphylaxis",
                "a serious allergic reaction",
                (
                    "swelling of my lips and throat and a rash after eating peanuts",
                    "lip swelling and wheezing a few minutes after a bee sting",
                ),
                "emergency",
                "This could be anaphylaxis: use an adrenaline auto-injector if you have one and call emergency services now.",
                (
                    (
                        "Adrenaline injected into the outer thigh is the first treatment for anaphylaxis.",
                        "Antihistamine tablets are the first treatment for anaphylaxis.",
                    ),
                    (
                        "Symptoms can come back hours later, so hospital observation is needed.",
                        "Once the swelling settles, the reaction is over for good.",
                    ),
                    (
                        "Lying down with legs raised helps if you feel faint, or sitting up if breathing is hard.",
                        "Standing up and walking around helps the reaction pass.",
                    ),
                ),
                (
                    "Use the adrenaline auto-injector.",
                    "Call emergency services.",
                    "Give a second dose after 5 minutes if there is no improvement.",
                ),
                (
                    "difficulty breathing or swallowing",
                    "feeling faint or collapsing",
                    "a hoarse voice or noisy breathing",
                ),
                "Any of these means calling emergency services straight away.",
                (
                    "Throat swelling and wheeze show the airway is involved, which makes adrenaline urgent.",
                    "The rash shows it is only skin-deep, so the throat cannot be affected.",
                ),
                "a mild allergy, which can only be assumed if there is no breathing or circulation problem",
                ("remote",),
            ),
            Condition(
                "minor_head_injury",
                "a head injury",
                (
                    "a bump to the head on a cupboard an hour ago and a mild headache since",
                    "a knock to the head playing football followed by a brief dazed spell",
                ),
                "urgent",
                "Most mild head injuries settle, but because you felt dazed you should be checked at urgent care today and watched for warning signs.",
                (
                    (
                        "Concussion symptoms can include headache, dizziness and poor concentration.",
                        "Concussion only happens if you lose consciousness.",
                    ),
                    (
                        "Rest from sport until symptoms have fully gone and you are cleared.",
                        "Going straight back to sport helps the brain recover.",
                    ),
                    (
                        "Someone should stay with you for the first 24 hours.",
                        "It is best to be alone and sleep it off without checks.",
                    ),
                ),
                (
                    "Get checked at urgent care today.",
                    "Have someone stay with you for 24 hours.",
                    "Avoid alcohol and sport until recovered.",
                ),
                ("repeated vomiting", "worsening headache, drowsiness or confusion", "fluid from the ears or nose"),
                "If any of these happen, go to the emergency department or call emergency services.",
                (
                    "Bleeding or swelling in the brain can build up over hours, so symptoms in the first day matter.",
                    "If the headache is mild, the brain cannot be injured.",
                ),
                "a neck injury, if there is neck pain",
                ("warfarin", "child", "remote"),
            ),
            Condition(
                "stroke_signs",
                "a possible stroke",
                (
                    "my husband's face suddenly drooped on one side and his speech is slurred",
                    "my mum suddenly can't lift her right arm and her words are muddled",
                ),
                "emergency",
                "These are signs of a stroke: call emergency services now, note the time the symptoms started, and do not wait to see whether they pass.",
                (
                    (
                        "FAST stands for face drooping, arm weakness, speech problems and time to call emergency services.",
                        "Stroke symptoms always come with a severe headache.",
                    ),
                    (
                        "Clot-busting treatment only works within a few hours of a stroke starting, so every minute matters.",
                        "Stroke treatment works equally well whenever the person reaches hospital.",
                    ),
                    (
                        "Symptoms that vanish within minutes still need urgent assessment, because a mini-stroke can come before a major one.",
                        "If the symptoms go away by themselves, no assessment is needed.",
                    ),
                ),
                (
                    "Phone for an ambulance straight away.",
                    "Note the exact time the symptoms started.",
                    "Do not give food, drink or medicines, including aspirin, until a scan has been done.",
                ),
                ("becoming unconscious or very drowsy", "a fit", "vomiting with a severe headache"),
                "Tell the call handler at once if any of these develop while you wait.",
                (
                    "A stroke cuts off blood to part of the brain and brain cells die quickly, which is why fast hospital treatment changes the outcome.",
                    "Stroke symptoms come from tiredness, so a good night's sleep is the right first step.",
                ),
                "a very low blood sugar, which the ambulance crew will check",
                ("remote", "low_resource", "language"),
                "event",
            ),
            Condition(
                "sepsis",
                "possible sepsis",
                (
                    "a high fever, shivering and fast breathing and feeling extremely unwell after a chest infection",
                    "a temperature, muddled thinking and blotchy skin two days after a urine infection",
                ),
                "emergency",
                "Feeling this unwell with a fever and fast breathing after an infection can be sepsis, which is an emergency: call emergency services or go to the emergency department now.",
                (
                    (
                        "Sepsis is the body's extreme reaction to an infection and can damage organs quickly.",
                        "Sepsis is a type of food poisoning that passes on its own.",
                    ),
                    (
                        "Sepsis can follow any infection, including chest, urine, skin and tummy infections.",
                        "Sepsis only happens after surgery in hospital.",
                    ),
                    (
                        "Early antibiotics and fluids in hospital greatly improve survival from sepsis.",
                        "Sepsis is treated by waiting at home for the fever to break.",
                    ),
                ),
                (
                    "Go to the emergency department or call emergency services now.",
                    "Tell the staff you are worried about sepsis.",
                    "Bring a list of your medicines and recent illnesses.",
                ),
                ("slurred speech or confusion", "mottled, bluish or very pale skin", "passing no urine for a day"),
                "If any of these are present, call emergency services rather than travelling by car.",
                (
                    "In sepsis the immune response starts harming the body's own organs, so confusion, fast breathing and passing little urine show that organs are struggling.",
                    "The fast breathing is caused by anxiety about the fever, so calming down will fix it.",
                ),
                "a bad flu-like illness, which can only be assumed after an assessment",
                ("chemotherapy", "insulin", "remote"),
            ),
            Condition(
                "asthma_attack",
                "an asthma attack",
                (
                    "wheezing and a tight chest, with the blue reliever inhaler helping for only an hour",
                    "breathlessness and wheeze, struggling to finish sentences despite using the reliever",
                ),
                "emergency",
                "An asthma attack where the reliever is not lasting is an emergency: follow your asthma action plan now and call emergency services if you are not improving.",
                (
                    (
                        "During an attack, sit upright and take one puff of the reliever every 30 to 60 seconds, up to 10 puffs.",
                        "Lying flat helps the lungs relax during an asthma attack.",
                    ),
                    (
                        "Needing the reliever more than three times a week means asthma is not well controlled.",
                        "Using the reliever several times a day is a sign of good asthma control.",
                    ),
                    (
                        "Preventer inhalers calm the inflammation in the airways and must be taken every day, even when well.",
                        "Preventer inhalers are only for use during an attack.",
                    ),
                ),
                (
                    "Sit upright and use the reliever as the action plan says.",
                    "Take the preventer inhaler every day once this settles.",
                    "Book an asthma review with a doctor or nurse within two days of the attack.",
                ),
                ("being too breathless to speak, eat or sleep", "blue or grey lips", "no improvement after 10 puffs"),
                "If any of these happen, call emergency services now, and repeat the 10 puffs after 10 minutes if help has not arrived.",
                (
                    "Inflamed airways tighten and fill with mucus, which is why the reliever opens them only briefly and the preventer is needed to calm them.",
                    "Wheezing comes from weak chest muscles, so breathing exercises are the main treatment.",
                ),
                "a chest infection that has set off the asthma",
                ("child", "athlete", "remote"),
            ),
        ),
        _c(
            "surgery",
            Condition(
                "appendicitis",
                "possible appendicitis",
                (
                    "pain that started around the belly button and moved to the lower right side, with a mild fever",
                    "lower right tummy pain that is worse when walking, and no appetite",
                ),
                "emergency",
                "Pain that moves to the lower right side with fever can be appendicitis, so go to the emergency department today.",
                (
                    (
                        "Appendicitis pain often starts near the belly button and moves to the lower right.",
                        "Appendicitis pain always starts on the left side.",
                    ),
                    (
                        "A burst appendix can cause a serious infection inside the tummy.",
                        "An inflamed appendix always settles by itself.",
                    ),
                    (
                        "Do not eat or drink until you are assessed, in case surgery is needed.",
                        "Eat a large meal so you have strength for the day.",
                    ),
                ),
                (
                    "Go to the emergency department today.",
                    "Avoid eating or drinking until assessed.",
                    "Note when the pain started and how it has moved, to tell the clinician.",
                ),
                ("severe pain spreading across the tummy", "high fever or shaking", "a rigid, very tender tummy"),
                "With any of these, call emergency services.",
                (
                    "Inflammation first irritates nerves near the belly button and then the lining next to the appendix, which is why the pain moves.",
                    "The pain moves because of trapped wind, which is why it shifts around.",
                ),
                "an ovarian problem or a kidney stone",
                ("pregnancy", "child", "remote"),
            ),
            Condition(
                "wound_infection",
                "a wound that may be infected after surgery",
                (
                    "redness and warmth around my stitches five days after an operation",
                    "my surgical wound is leaking yellow fluid and is more painful",
                ),
                "urgent",
                "These could be signs of a wound infection, so contact your surgical team or doctor today for a wound check.",
                (
                    (
                        "Spreading redness, warmth, pus and increasing pain are signs of infection.",
                        "Some pus is normal after surgery and never needs checking.",
                    ),
                    (
                        "Some infected wounds need antibiotics and some need opening and cleaning.",
                        "All wound infections clear with creams bought at a shop.",
                    ),
                    (
                        "Keep the wound clean and dry and wash hands before touching the dressing.",
                        "Soaking the wound in a hot bath every day is the best way to clean it.",
                    ),
                ),
                (
                    "Call your surgical team or doctor today.",
                    "Mark the edge of the redness with a pen to see if it spreads.",
                    "Keep the dressing clean and dry.",
                ),
                ("fever or shivering", "redness spreading quickly", "the wound opening up"),
                "With any of these, go to the emergency department.",
                (
                    "Bacteria entering the wound cause inflammation, which produces the redness, warmth and pus.",
                    "The redness is from the stitches being too tight, so infection is unlikely.",
                ),
                "a normal healing reaction, which only a check can confirm",
                ("penicillin_allergy", "elderly", "remote"),
            ),
            Condition(
                "gallstone_pain",
                "gallstone pain",
                (
                    "bouts of severe pain under my right ribs after fatty meals, lasting a few hours",
                    "pain in my upper right tummy after eating that goes through to my back",
                ),
                "urgent",
                "Pain under the right ribs after fatty meals often comes from gallstones, so see your doctor within the next few days to arrange an ultrasound scan.",
                (
                    (
                        "An ultrasound scan is the usual test for gallstones.",
                        "Gallstones are diagnosed from a chest X-ray.",
                    ),
                    (
                        "Gallstone pain often follows a fatty meal and can last from minutes to several hours.",
                        "Gallstone pain only happens on an empty stomach.",
                    ),
                    (
                        "Gallstones that keep causing pain are usually treated by removing the gallbladder in a keyhole operation.",
                        "Gallstones dissolve completely if you drink vinegar.",
                    ),
                ),
                (
                    "See your doctor within the next few days to arrange a scan.",
                    "Keep a note of what you ate before each episode.",
                    "Eat smaller meals lower in fat until you have been assessed.",
                ),
                (
                    "yellow skin or eyes",
                    "fever or shivering with the pain",
                    "severe pain that is constant for more than a few hours",
                ),
                "With any of these, go to the emergency department the same day, as an infected gallbladder or a blocked bile duct needs hospital treatment.",
                (
                    "A fatty meal makes the gallbladder squeeze, and a stone blocking its outlet causes the pain.",
                    "The pain comes from stomach acid, which is why the gallbladder cannot be involved.",
                ),
                "a stomach ulcer, an inflamed pancreas or a kidney stone",
                ("pregnancy", "ckd", "remote"),
            ),
            Condition(
                "inguinal_hernia",
                "a groin hernia",
                (
                    "a soft lump in my groin that appears when I cough or lift and goes back when I lie down",
                    "a bulge in my groin that aches at the end of the day",
                ),
                "routine",
                "A soft groin lump that goes back when you lie down is most likely a hernia, which is not an emergency but should be checked by your doctor in the next few weeks.",
                (
                    (
                        "A hernia is tissue pushing through a weak spot in the muscle wall.",
                        "A hernia is a tumour that grows from the groin.",
                    ),
                    (
                        "A hernia that becomes stuck and painful can lose its blood supply, which is an emergency.",
                        "A stuck hernia is harmless and can be left for weeks.",
                    ),
                    (
                        "Many hernias are repaired in a planned operation, often as a day case.",
                        "Hernias always disappear on their own with exercise.",
                    ),
                ),
                (
                    "Book a routine appointment with your doctor.",
                    "Avoid heavy lifting and straining until it has been assessed.",
                    "Treat any constipation so you do not strain.",
                ),
                (
                    "the lump becoming hard, tender and impossible to push back",
                    "vomiting or being unable to pass wind",
                    "severe tummy or groin pain",
                ),
                "With any of these, go to the emergency department immediately, as the hernia may be strangulated.",
                (
                    "Pressure inside the tummy pushes tissue through the weak spot when you stand or strain, which is why the lump goes back when you lie down.",
                    "The lump is a swollen gland, which is why it changes when you lie down.",
                ),
                "a swollen lymph gland or, in men, a problem with the testicle",
                ("athlete", "polypharmacy", "remote"),
            ),
            Condition(
                "post_op_pain",
                "pain at home after keyhole surgery",
                (
                    "soreness around my keyhole wounds and shoulder-tip pain two days after an operation",
                    "pain at home three days after keyhole gallbladder surgery and uncertainty about which painkillers to take",
                ),
                "routine",
                "Some pain for a few days after keyhole surgery is expected, including shoulder-tip pain from the gas used during the operation; take regular pain relief as advised on your discharge letter.",
                (
                    (
                        "Shoulder-tip pain after keyhole surgery usually comes from the gas used to inflate the tummy and settles within a few days.",
                        "Shoulder-tip pain after keyhole surgery means the operation has failed.",
                    ),
                    (
                        "Taking pain relief regularly at first controls pain better than waiting until it is severe.",
                        "Pain relief should only be taken once the pain becomes unbearable.",
                    ),
                    (
                        "Walking little and often after surgery lowers the risk of blood clots and chest infections.",
                        "Staying in bed for a week after surgery is the safest way to recover.",
                    ),
                ),
                (
                    "Take the pain relief listed on your discharge letter regularly.",
                    "Walk around a little every few hours.",
                    "Eat fibre and drink fluids to avoid constipation from painkillers.",
                ),
                (
                    "pain that keeps getting worse instead of better",
                    "a fever or a swollen, hard tummy",
                    "yellow skin or vomiting that will not stop",
                ),
                "If any of these happen, contact the surgical ward or go to the emergency department the same day.",
                (
                    "Pain from surgery should ease a little each day, so pain that grows instead suggests a complication such as a leak or infection.",
                    "Pain after surgery stays the same for weeks, so pain getting worse is normal healing.",
                ),
                "constipation or trapped wind after the anaesthetic",
                ("ckd", "warfarin", "liver", "lithium"),
            ),
        ),
        _c(
            "infectious_disease",
            Condition(
                "uti",
                "a urinary tract infection",
                (
                    "burning when I pee and needing to go very often for two days",
                    "stinging when passing urine and cloudy urine",
                ),
                "routine",
                "This sounds like a simple bladder infection, and you can see a doctor or pharmacist in the next day or two about treatment.",
                (
                    (
                        "Simple bladder infections are usually treated with a short course of antibiotics.",
                        "Bladder infections always need a long course of injected antibiotics.",
                    ),
                    (
                        "Drinking enough fluid helps, though it does not replace treatment when needed.",
                        "Cranberry juice cures a bladder infection on its own.",
                    ),
                    (
                        "A urine test can confirm the infection.",
                        "A blood test is needed to diagnose every bladder infection.",
                    ),
                ),
                (
                    "See a doctor or pharmacist in the next day or two.",
                    "Drink regular fluids.",
                    "Finish any antibiotic course as prescribed.",
                ),
                ("fever, shivering or pain in the side or back", "blood in the urine", "vomiting"),
                "These can mean a kidney infection: seek same-day medical care, or emergency care if very unwell.",
                (
                    "Bacteria irritating the bladder lining explain the burning and the urge to go often.",
                    "The burning is caused by drinking too much water.",
                ),
                "a sexually transmitted infection",
                ("penicillin_allergy", "pregnancy", "ckd"),
            ),
            Condition(
                "travel_fever",
                "fever after travel",
                (
                    "a fever and headache a week after coming back from a trip to West Africa",
                    "fevers and chills since returning from a malaria area",
                ),
                "emergency",
                "Fever after visiting a malaria area must be treated as possible malaria: get a malaria test today at an emergency department.",
                (
                    (
                        "Malaria can start from about a week to several months after travel.",
                        "Malaria always starts within 24 hours of being bitten.",
                    ),
                    (
                        "A blood test is needed to diagnose malaria.",
                        "Malaria can be diagnosed from the pattern of the fever alone.",
                    ),
                    (
                        "Taking preventive tablets lowers but does not remove the risk.",
                        "If you took preventive tablets you cannot have malaria.",
                    ),
                ),
                ("Get a malaria blood test today.", "Tell the clinician where you travelled.", "Keep drinking fluids."),
                ("confusion or drowsiness", "yellow skin or dark urine", "difficulty breathing"),
                "With any of these, call emergency services immediately.",
                (
                    "Malaria parasites multiply in the blood in cycles, which causes the fevers and needs a blood test.",
                    "The fever comes from jet lag, so travel history is irrelevant.",
                ),
                "dengue or typhoid",
                ("pregnancy", "remote", "penicillin_allergy"),
            ),
            Condition(
                "sore_throat",
                "a sore throat",
                (
                    "a sore throat, a mild temperature and a runny nose for three days",
                    "a scratchy, painful throat and a hoarse voice since the weekend",
                ),
                "routine",
                "Most sore throats are caused by viruses and get better within about a week without antibiotics, so pain relief, fluids and rest are the mainstays.",
                (
                    (
                        "Most sore throats are viral, and antibiotics do not help viral infections.",
                        "Every sore throat needs antibiotics to stop it spreading.",
                    ),
                    (
                        "A sore throat usually lasts about a week.",
                        "A sore throat that lasts more than a day always means a bacterial infection.",
                    ),
                    (
                        "Gargling with warm salty water and sipping cool drinks can ease the pain.",
                        "Very hot drinks kill the germs that cause a sore throat.",
                    ),
                ),
                (
                    "Drink plenty of cool or warm fluids.",
                    "Use paracetamol or ibuprofen for the pain if they are suitable for you.",
                    "See a pharmacist or doctor if it is not better after a week.",
                ),
                (
                    "difficulty swallowing saliva, or drooling",
                    "a muffled voice or trouble opening the mouth",
                    "noisy or difficult breathing",
                ),
                "With any of these, go to the emergency department or call emergency services, as the airway may be affected.",
                (
                    "The viruses that cause colds also inflame the throat, which is why a runny nose and sore throat come together and antibiotics do not help.",
                    "The sore throat comes from bacteria in cold air, which is why antibiotics are always needed.",
                ),
                "a strep throat or tonsillitis, which a clinician can assess with a checklist or a swab",
                ("pregnancy", "penicillin_allergy", "asthma", "child"),
            ),
            Condition(
                "cellulitis",
                "cellulitis, a skin infection",
                (
                    "a red, hot, swollen patch on my lower leg that is spreading",
                    "a painful, tight red area on my shin that has doubled in size since yesterday",
                ),
                "urgent",
                "A spreading red, hot, painful patch of skin can be cellulitis, a skin infection that usually needs antibiotics, so see a doctor today.",
                (
                    (
                        "Cellulitis usually needs antibiotic tablets, and severe cases need treatment in hospital.",
                        "Cellulitis is an allergy that clears with antihistamines.",
                    ),
                    (
                        "Raising the affected leg helps reduce swelling and pain.",
                        "Keeping the leg hanging down drains the infection.",
                    ),
                    (
                        "Cracked skin, such as athlete's foot between the toes, can let bacteria in.",
                        "Cellulitis can only start through a deep cut.",
                    ),
                ),
                (
                    "See a doctor today about antibiotics.",
                    "Raise the leg on pillows when resting.",
                    "Treat any athlete's foot and keep the skin moisturised.",
                ),
                (
                    "fever, shivering or feeling very unwell",
                    "redness spreading fast, or skin turning dark or blistered",
                    "severe pain that seems out of proportion to how the skin looks",
                ),
                "With any of these, go to the emergency department now, as the infection may be spreading deeper.",
                (
                    "Bacteria get in through breaks in the skin and cause inflammation deeper down, which produces the heat, redness and swelling.",
                    "The redness is from poor circulation, so an infection cannot be the cause.",
                ),
                "a blood clot in the leg or inflamed skin over varicose veins",
                ("penicillin_allergy", "insulin", "remote"),
            ),
            Condition(
                "influenza",
                "flu",
                (
                    "a sudden high temperature, aching muscles and exhaustion since yesterday",
                    "a fever, dry cough and body aches that came on suddenly",
                ),
                "routine",
                "This sounds like flu, which most healthy people can manage at home with rest, fluids and pain relief, while people at higher risk should contact a doctor early about antiviral medicine.",
                (
                    (
                        "Flu is caused by a virus, so antibiotics do not treat it.",
                        "Antibiotics are the main treatment that shortens flu.",
                    ),
                    (
                        "The yearly flu vaccine lowers the risk of catching flu and of becoming seriously ill.",
                        "The flu vaccine can give you flu.",
                    ),
                    (
                        "People with flu are most infectious in the first few days and should stay at home.",
                        "Flu only becomes infectious after the fever has gone.",
                    ),
                ),
                (
                    "Rest at home and stay away from others until you feel better.",
                    "Drink plenty of fluids and use paracetamol for fever and aches if it suits you.",
                    "Ask about the flu vaccine before next winter.",
                ),
                (
                    "breathlessness or chest pain",
                    "confusion or drowsiness",
                    "symptoms that improve and then get worse again",
                ),
                "If any of these happen, get urgent medical help, and call emergency services if you are struggling to breathe.",
                (
                    "The flu virus triggers a strong immune response, which is why the fever and aches come on suddenly and all over the body.",
                    "The aches come from sleeping badly, so flu cannot be the cause.",
                ),
                "COVID-19 or another respiratory virus, which a test can tell apart",
                ("pregnancy", "chemotherapy", "insulin", "elderly", "asthma"),
            ),
        ),
    )
)
"""Conditions per discipline id; the keys equal the healthbench.yaml discipline ids."""

GENERIC_POOL: tuple[Condition, ...] = tuple(c for group in CASEBANK.values() for c in group)
"""Conditions used for a discipline the bank does not know (a user matrix): all of them."""


def conditions_for(discipline: str) -> tuple[tuple[Condition, ...], bool]:
    """The discipline's conditions and whether they came from the generic fallback pool."""
    if discipline in CASEBANK:
        return CASEBANK[discipline], False
    return GENERIC_POOL, True
